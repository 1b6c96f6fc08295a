-- steal(keys=[progress hash], args=[our reservation, then (number, the dead reservation) pairs])
--   -> how many were taken over
--
-- Takes over reservations whose holder is dead, each only if it is still the one we saw.
--
-- Atomic because the check and the write must see the same value: a holder that came back to life
-- (or another stealer) between them would otherwise lose its reservation.

local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    n = n + 1
  end
end
return n
