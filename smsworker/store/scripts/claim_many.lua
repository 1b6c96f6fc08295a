-- claim_many(keys=[queue, processing list], args=[count]) -> the elements claimed, oldest first
--
-- Claims up to ``count`` tasks in one round trip when the queue is busy: the same move as LMOVE,
-- repeated.
--
-- Atomic for the same reason LMOVE is: each element is always in one of the two lists, so a worker
-- that dies mid-claim leaves its tasks where recovery finds them.

local bad = wrong_type({KEYS[1], KEYS[2]}, {'list', 'list'})
if bad then return bad end
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('RPOP', KEYS[1])
  if not v then break end
  redis.call('LPUSH', KEYS[2], v)
  out[i] = v
end
return out
