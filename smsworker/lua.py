"""The Lua scripts ``queue.py`` runs. Each runs atomically inside Redis: that is why they exist."""

# Moves a processing list back to the front of the queue, newest first, so the oldest task ends up
# rightmost and is fetched first again. LPOP/RPUSH rather than LMOVE to work on Redis < 6.2.
REQUEUE = """
local n = 0
while true do
  local v = redis.call('LPOP', KEYS[1])
  if not v then break end
  redis.call('RPUSH', KEYS[2], v)
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('SREM', KEYS[3], ARGV[1])
return n
"""

# Claims up to ARGV[1] tasks in one round trip when the queue is busy (the same move as LMOVE).
CLAIM_MANY = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('RPOP', KEYS[1])
  if not v then break end
  redis.call('LPUSH', KEYS[2], v)
  out[i] = v
end
return out
"""

# Replaces a claimed element in our own processing list by its stamped form, where it stands.
# LPOS needs Redis 6.0.6; before that, remove and push it back at the head (order there matters
# only to the order of a recovery).
STAMP = """
local ok, index = pcall(redis.call, 'LPOS', KEYS[1], ARGV[1])
if ok then
  if not index then return 0 end
  redis.call('LSET', KEYS[1], index, ARGV[2])
  return 1
end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# Moves one envelope's task from the dead-letter list back to the queue, only if it is still there.
REPLAY = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

# GCRA rate limit shared by every worker on this Redis. KEYS[1]: the provider's key; ARGV[1]: the
# emission interval in ms (1000 / rate). Returns 0 when the request may go now, else the ms to wait.
# No burst: one request per interval, whichever worker asks.
# Redis's own clock (TIME) keeps workers on different hosts in step.
RATE_LIMIT = """
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
"""
