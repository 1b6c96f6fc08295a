-- stamp(keys=[processing list, origin hash], args=[element as claimed, its stamped form]) -> 1 done, 0 not there
--
-- Replaces a claimed element in our own processing list by its stamped form, where it stands. Run
-- again after a lost reply it finds the stamped form already there and says yes. LPOS needs Redis
-- 6.0.6; before that, remove and push it back at the head (order there matters only to the order of
-- a recovery).
--
-- The element's lane in the origin hash moves to its new form.
--
-- Atomic because between the removal of one form and the write of the other the task would be in
-- no list at all.

local function move_origin()
  local lane = origin_of(KEYS[2], ARGV[1])
  if lane then
    forget_origin(KEYS[2], ARGV[1])
    note_origin(KEYS[2], ARGV[2], lane)
  end
end

local ok, index = pcall(redis.call, 'LPOS', KEYS[1], ARGV[1])
if ok then
  if not index then
    if redis.call('LPOS', KEYS[1], ARGV[2]) then return 1 end
    return 0
  end
  redis.call('LSET', KEYS[1], index, ARGV[2])
  move_origin()
  return 1
end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[1], ARGV[2])
  move_origin()
  return 1
end
return 0
