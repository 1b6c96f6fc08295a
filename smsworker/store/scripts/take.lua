-- take(
--   keys=[queue, processing list, origin hash, paused hash, then each lane's list],
--   args=read in order with take(): how many elements of the queue to route (0: none),
--        list(the lanes' names, in KEYS order), the count and the (template id, lane index) pairs,
--        record origins (1/0), the count and the (lane index, most to take) pairs in the order to
--        serve, how many to take in all
-- ) -> {routed, {each lane's length after}, {lane index, element, lane index, element, ...}}
--
-- Routes what producers pushed to the queue into the lanes, then claims from the lanes in the order
-- the worker asks (its priorities), skipping paused ones, into the processing list, noting each
-- element's lane so that recovery puts it back where it came from.
-- Routing reads an element's JSON (after a stamp, if it carries one): its "lane" field when it has
-- one, else its template_id (123 and "123" alike), else the lane "default". A lane field naming no
-- lane, and anything unreadable, go to "default", where the worker dead-letters them with a reason.
--
-- Atomic so that each element is in exactly one list at every moment (the queue, a lane, the
-- processing list), and a pause written before the call is obeyed by it.

local nkeys = 4
local bad = wrong_type({KEYS[1], KEYS[2], KEYS[3], KEYS[4]}, {'list', 'list', 'hash', 'hash'})
if bad then return bad end
local route_limit = tonumber(take())
local lanes = list()
local kinds = {}
for i = 1, #lanes do kinds[i] = 'list' end
local lane_keys = {}
for i = 1, #lanes do lane_keys[i] = KEYS[nkeys + i] end
bad = wrong_type(lane_keys, kinds)
if bad then return bad end
local by_name, default = {}, nil
for i, name in ipairs(lanes) do
  by_name[name] = i
  if name == 'default' then default = i end
end
local by_template = {}
for _, row in ipairs(rows(2)) do by_template[row[1]] = tonumber(row[2]) end
local record = take() == '1'
local plan = rows(2)
local total = tonumber(take())

local function template_text(v)
  if type(v) == 'string' then return v end
  if type(v) == 'number' and v == math.floor(v) and math.abs(v) < 2^53 then
    return string.format('%.0f', v)
  end
end

local stamp = '\0smsworker:'
local function lane_of(element)
  local body = element
  if string.sub(element, 1, #stamp) == stamp then
    local nl = string.find(element, '\n', 1, true)
    if not nl then return default end
    body = string.sub(element, nl + 1)
  end
  local ok, task = pcall(cjson.decode, body)
  if not ok or type(task) ~= 'table' then return default end
  if task.lane ~= nil then return by_name[task.lane] or default end
  local t = template_text(task.template_id)
  return (t and by_template[t]) or default
end

local routed = 0
if route_limit > 0 and default then
  while routed < route_limit do
    local v = redis.call('RPOP', KEYS[1])
    if not v then break end
    redis.call('LPUSH', lane_keys[lane_of(v)], v)
    routed = routed + 1
  end
end

local out = {}
if redis.call('HEXISTS', KEYS[4], 'all') == 0 then
  local taken = 0
  for _, row in ipairs(plan) do
    local i, most = tonumber(row[1]), tonumber(row[2])
    if taken >= total then break end
    if redis.call('HEXISTS', KEYS[4], 'lane:' .. lanes[i]) == 0 then
      local n = 0
      while n < most and taken < total do
        local v = redis.call('RPOP', lane_keys[i])
        if not v then break end
        redis.call('LPUSH', KEYS[2], v)
        if record then note_origin(KEYS[3], v, lanes[i]) end
        out[#out + 1] = i
        out[#out + 1] = v
        n = n + 1
        taken = taken + 1
      end
    end
  end
end
local lengths = {}
for i = 1, #lanes do lengths[i] = redis.call('LLEN', lane_keys[i]) end
return {routed, lengths, out}
