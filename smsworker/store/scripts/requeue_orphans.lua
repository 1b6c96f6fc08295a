-- requeue_orphans(
--   keys=[processing list, queue, origin hash, then each lane's list],
--   args=[how many lanes (their names follow, in KEYS order), then the elements]
-- ) -> how many went back
--
-- Puts back elements that sit in a live worker's processing list although the worker does not hold
-- them: a claim whose reply was lost (Redis executed it, the client timed out), or tasks put back on
-- purpose. Each goes to the front of the lane it was taken from (the queue without one). Only
-- elements still there move.
--
-- Atomic so that an element is in exactly one of the lists at every moment, and one the worker
-- settles meanwhile (LREM finds nothing) is not pushed back.

local check, kinds = {KEYS[1], KEYS[2], KEYS[3]}, {'list', 'list', 'hash'}
for i = 4, #KEYS do check[#check + 1] = KEYS[i]; kinds[#kinds + 1] = 'list' end
local bad = wrong_type(check, kinds)
if bad then return bad end
local lane_key = {}
for i, name in ipairs(list()) do lane_key[name] = KEYS[3 + i] end
local n = 0
while a < #ARGV do
  local v = take()
  if redis.call('LREM', KEYS[1], 1, v) == 1 then
    local lane = origin_of(KEYS[3], v)
    forget_origin(KEYS[3], v)
    redis.call('RPUSH', (lane and lane_key[lane]) or KEYS[2], v)
    n = n + 1
  end
end
return n
