-- lock(keys=[the lock], args=[holder, seconds]) -> 1 if the holder holds the lock now, else 0
--
-- Takes (or keeps) a lock for one holder.
--
-- Atomic so that two holders reading a free lock at once cannot both take it.

local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
