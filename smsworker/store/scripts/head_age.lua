-- head_age(keys=[queue, the note], args=[now (unix s), the note's TTL])
--   -> seconds the head has waited, at least; '-1': the queue is empty
--
-- How long the element now at the head of the queue (the next to be taken) has been there, at
-- least: the first time a reader sees an element at the head it notes it (whole when short, else its
-- length and both ends: a fingerprint, not a copy of a 1 MB task) and the time; later reads answer
-- the difference. Elements carry no push time, so this is the best Redis can say; the readers (the
-- metrics scrape, the dashboard) look often enough for it to be close.
--
-- Atomic so that the head read and the note written describe the same element.

local head = redis.call('LINDEX', KEYS[1], -1)
if not head then
  redis.call('DEL', KEYS[2])
  return '-1'
end
local digest = head
if #head > 256 then digest = #head .. ':' .. string.sub(head, 1, 128) .. string.sub(head, -128) end
local seen = redis.call('HMGET', KEYS[2], 'digest', 'at')
if seen[1] ~= digest then
  redis.call('HSET', KEYS[2], 'digest', digest, 'at', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return '0'
end
return tostring(math.max(0, tonumber(ARGV[1]) - tonumber(seen[2])))
