-- unpark(
--   keys=[paused hash, parked list, queue, cancel key, then one lane list per lane name in ARGV],
--   args=[the paused field to delete, the cancel JSON ('' for a resume), the cancel TTL (s),
--         then the lane names the parked elements were read to name]
-- ) -> {1 if it changed something (resume: the scope was paused; cancel: the key is new) else 0,
--       how many elements it moved}, or {-1, 0}: an element names a lane not in KEYS (parked since
--       the caller read the list: read it again and call again); nothing is written then
--
-- Resumes or cancels a campaign. Its paused field goes, and for a cancel the cancel key is set
-- (NX: a second cancel keeps the first one's time and author). The tasks a worker parked while the
-- campaign was paused (each element: its lane, a newline, the task; newest on the left) go back to
-- the front of their lanes (the right end, which workers take from), the oldest frontmost; lane ''
-- is the queue itself. Every lane a parked element names is in KEYS: a cluster runs a script only
-- on the keys it is given, all of them in the queue's slot.
--
-- Atomic so that each parked task moves exactly once: two resumes (or a resume and a cancel) at the
-- same time cannot both move it, and none is lost between the pop and the push. The paused field
-- goes in the same step, so a worker that parks after it sees the campaign running again.

local lanes = {[''] = KEYS[3]}
local kinds = {'hash', 'list', 'list', 'string'}
for i = 4, #ARGV do
  lanes[ARGV[i]] = KEYS[i + 1]
  kinds[i + 1] = 'list'
end
local bad = wrong_type(KEYS, kinds)
if bad then return bad end
local parked = redis.call('LRANGE', KEYS[2], 0, -1)
local moves = {}
for i, element in ipairs(parked) do
  local cut = string.find(element, '\n', 1, true)
  local lane, task = '', element
  if cut then lane, task = string.sub(element, 1, cut - 1), string.sub(element, cut + 1) end
  if not lanes[lane] then return {-1, 0} end
  moves[i] = {lanes[lane], task}
end
local changed
if ARGV[2] == '' then
  changed = redis.call('HDEL', KEYS[1], ARGV[1])
else
  changed = redis.call('SET', KEYS[4], ARGV[2], 'NX', 'EX', ARGV[3]) and 1 or 0
  redis.call('HDEL', KEYS[1], ARGV[1])
end
for _, move in ipairs(moves) do
  redis.call('RPUSH', move[1], move[2])
end
redis.call('DEL', KEYS[2])
return {changed, #moves}
