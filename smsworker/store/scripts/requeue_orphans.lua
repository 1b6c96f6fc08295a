-- requeue_orphans(keys=[processing list, queue], args=[element, ...]) -> how many went back
--
-- Puts back elements that sit in a live worker's processing list although the worker does not hold
-- them: a claim whose reply was lost (Redis executed it, the client timed out). Only elements still
-- there move.
--
-- Atomic so that an element is in exactly one of the two lists at every moment, and one the worker
-- settles meanwhile (LREM finds nothing) is not pushed back.

local bad = wrong_type({KEYS[1], KEYS[2]}, {'list', 'list'})
if bad then return bad end
local n = 0
for i = 1, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    n = n + 1
  end
end
return n
