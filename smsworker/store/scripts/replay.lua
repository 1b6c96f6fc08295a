-- replay(keys=[dead-letter list, queue], args=[envelope, the task]) -> 1 moved, 0 not there
--
-- Moves one envelope's task from the dead-letter list back to the queue, only if it is still there.
--
-- Atomic so that two operators replaying the same entry push the task once, and a task removed
-- from the dead-letter list always reaches the queue.

local bad = wrong_type({KEYS[1], KEYS[2]}, {'list', 'list'})
if bad then return bad end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
