-- move_key(keys=[old name, new name], args=['sum' or 'keep', the most list elements to move])
--   -> 0 nothing there, 1 moved, 2 a list moved in part: call again
--
-- Moves one key of the layout before hash tags to its new name (upgrade.py). A new key that exists
-- already (a worker of this version wrote it first) is merged into: lists get the old elements on
-- the right (the older end of every list here), hashes the old fields it lacks (a recipient marked
-- sent, '1', always wins; 'sum' adds counters instead), sets and sorted sets the union; a string
-- keeps the newer value. A list moves in chunks so a long dead-letter list does not stop Redis. TTLs
-- are kept.
--
-- Atomic so that several workers starting at once can each run it: whoever runs first moves the
-- key, the others find nothing, and no element is moved twice or lost.

local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return 0 end
local there = redis.call('TYPE', KEYS[2])['ok']
if there == 'none' then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
if there ~= kind then
  return redis.error_reply('WRONGTYPE ' .. KEYS[2] .. ' holds a ' .. there .. ', not a ' .. kind)
end
local ttl = redis.call('PTTL', KEYS[2])
if kind == 'list' then
  for i = 1, tonumber(ARGV[2]) do
    local v = redis.call('LPOP', KEYS[1])
    if not v then break end
    redis.call('RPUSH', KEYS[2], v)
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
elseif kind == 'hash' then
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if ARGV[1] == 'sum' then
      redis.call('HINCRBY', KEYS[2], fields[i], fields[i + 1])
    elseif fields[i + 1] == '1' then
      redis.call('HSET', KEYS[2], fields[i], '1')
    else
      redis.call('HSETNX', KEYS[2], fields[i], fields[i + 1])
    end
  end
elseif kind == 'set' then
  redis.call('SUNIONSTORE', KEYS[2], KEYS[2], KEYS[1])
elseif kind == 'zset' then
  redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[2], KEYS[1], 'AGGREGATE', 'MIN')
end
redis.call('DEL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
