-- cancel_task(keys=[cancel key, status hash], args=[cancel JSON, TTL (s), the cancelled state JSON])
--   -> {1 if the cancel key is new else 0, then each number of the status hash and its state}
--
-- Cancels the task pushed with an id: the cancel key (NX: a second cancel keeps the first one's
-- time and author) tells workers to end its recipients not yet sent as cancelled; each recipient the
-- status hash shows waiting (queued, scheduled, deferred) reads cancelled at once. A sent one (sent,
-- delivered, undelivered) cannot be called back: it is answered as it is, for the caller to say so.
--
-- Atomic so that the states answered are the ones the cancel saw: a settle writing 'sent' for a
-- number lands either before (answered sent) or after (the worker had sent it already).

local bad = wrong_type(KEYS, {'string', 'hash'})
if bad then return bad end
local new = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) and 1 or 0
local out = {new}
local fields = redis.call('HGETALL', KEYS[2])
local waiting = {queued = true, scheduled = true, deferred = true}
for i = 1, #fields, 2 do
  local ok, state = pcall(cjson.decode, fields[i + 1])
  local name = ''
  if ok and type(state) == 'table' and type(state['state']) == 'string' then name = state['state'] end
  if waiting[name] then
    redis.call('HSET', KEYS[2], fields[i], ARGV[3])
    name = 'cancelled'
  end
  out[#out + 1] = fields[i]
  out[#out + 1] = name
end
return out
