-- requeue(
--   keys=[processing list, queue, workers set, heartbeat, settle marker, origin hash,
--         then each lane's list],
--   args=[worker id, how many lanes (their names follow, in KEYS order), then per position in the
--         processing list as the caller read it: the element expected there, what to push instead]
-- ) -> how many elements went back
--
-- Moves a dead (or stopping) worker's processing list back to the front of where each element was
-- taken from (its lane, by the origin hash; the queue otherwise), newest first, so the oldest task
-- ends up rightmost and is fetched first again, and forgets the worker. The replacements are how
-- recovery counts a crash on each element (stamps.py); an element that is not the one expected at
-- its position (the list changed since it was read) goes back unchanged.
-- LPOP/RPUSH rather than LMOVE to work on Redis < 6.2.
--
-- Atomic because an element popped from the processing list and not yet pushed onto the queue
-- belongs to nobody: a crash or a concurrent recovery in between would lose or duplicate it.

local check, kinds = {KEYS[1], KEYS[2], KEYS[3], KEYS[6]}, {'list', 'list', 'set', 'hash'}
for i = 7, #KEYS do check[#check + 1] = KEYS[i]; kinds[#kinds + 1] = 'list' end
local bad = wrong_type(check, kinds)
if bad then return bad end
local worker = take()
local lane_key = {}
for i, name in ipairs(list()) do lane_key[name] = KEYS[6 + i] end
local n = 0
while true do
  local v = redis.call('LPOP', KEYS[1])
  if not v then break end
  local lane = origin_of(KEYS[6], v)
  local expected, instead = take(), take()
  local target = (lane and lane_key[lane]) or KEYS[2]
  if expected == v and instead then v = instead end
  redis.call('RPUSH', target, v)
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5], KEYS[6])
redis.call('SREM', KEYS[3], worker)
return n
