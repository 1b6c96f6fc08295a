-- requeue(
--   keys=[processing list, queue, workers set, heartbeat, settle marker],
--   args=[worker id, then per position in the processing list as the caller read it:
--         the element expected there, what to push instead]
-- ) -> how many elements went back
--
-- Moves a dead (or stopping) worker's processing list back to the front of the queue, newest first,
-- so the oldest task ends up rightmost and is fetched first again, and forgets the worker. The
-- replacements are how recovery counts a crash on each element (stamps.py); an element that is not
-- the one expected at its position (the list changed since it was read) goes back unchanged.
-- LPOP/RPUSH rather than LMOVE to work on Redis < 6.2.
--
-- Atomic because an element popped from the processing list and not yet pushed onto the queue
-- belongs to nobody: a crash or a concurrent recovery in between would lose or duplicate it.

local bad = wrong_type({KEYS[1], KEYS[2], KEYS[3]}, {'list', 'list', 'set'})
if bad then return bad end
local worker = take()
local n = 0
while true do
  local v = redis.call('LPOP', KEYS[1])
  if not v then break end
  local expected, instead = take(), take()
  if expected == v and instead then v = instead end
  redis.call('RPUSH', KEYS[2], v)
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
redis.call('SREM', KEYS[3], worker)
return n
