-- The origin hash of a processing list: element -> "<lane>\t<how many equal elements>". Prepended to
-- every script that calls these (scripts.py).
--   note_origin(origin, element, lane)  one more of ``element``, taken from ``lane``
--   origin_of(origin, element)          the lane it was taken from, or nil
--   forget_origin(origin, element)      one fewer: the field goes with the last one
--
-- Why: equal elements share one field, and looking through the processing list for another copy
-- (LPOS) costs its length at every settle; the count costs nothing.

local function origin_of(origin, element)
  local v = redis.call('HGET', origin, element)
  if not v then return nil end
  return (string.match(v, '^([^\t]*)'))
end
local function note_origin(origin, element, lane)
  local v = redis.call('HGET', origin, element)
  local n = v and tonumber(string.match(v, '\t(%d+)$')) or 0
  redis.call('HSET', origin, element, lane .. '\t' .. (n + 1))
end
local function forget_origin(origin, element)
  local v = redis.call('HGET', origin, element)
  if not v then return end
  local lane, n = string.match(v, '^([^\t]*)\t(%d+)$')
  n = tonumber(n) or 1
  if n <= 1 then
    redis.call('HDEL', origin, element)
  else
    redis.call('HSET', origin, element, lane .. '\t' .. (n - 1))
  end
end
