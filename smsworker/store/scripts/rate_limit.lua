-- rate_limit(keys=[the provider's key], args=[the emission interval in ms, 1000 / rate])
--   -> '0' when the request may go now, else the ms to wait
--
-- GCRA rate limit shared by every worker on this Redis. No burst: one request per interval,
-- whichever worker asks. Redis's own clock (TIME) keeps workers on different hosts in step.
--
-- Atomic because the read of the theoretical arrival time and its advance must not interleave
-- with another worker's, or both would take the same turn.

local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + tonumber(now[2]) / 1000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now_ms
if tat > now_ms then
  return tostring(tat - now_ms)
end
local new_tat = now_ms + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(interval) + 1000)
return '0'
