-- settle(
--   keys=[processing list, dead-letter list, stats, settle marker, awaiting set, changes list,
--         this minute's counters, held reports, held-due list, origin hash, scheduled set,
--         campaigns set, paused hash, then hash keys (progress, status, campaign), then string keys (receipt and
--         payload), then list keys (parked)],
--   args=read in order with take(), as store/settling.py writes them (store/args.py):
--     batch number, marker TTL, id-progress TTL, index in KEYS of the first string key,
--     index in KEYS of the first list key, receipt TTL, now (unix s), changes cap (0: off),
--     the prefix of a campaign's counters key (before the name),
--     then per task: element, progress key, keep progress (1/0), sent, dead, segments,
--       list(envelopes), status key, the count and the (number, state JSON, change JSON or '')
--       triples, list(fields to drop), the count and the (receipt key, JSON) pairs,
--       payload key and, if one, the payload, cancelled, the count and the (due, member) pairs to
--       schedule, parked list key and, if one, the parked value, the lane's list key and the pause's
--       field, campaign key and, if one, its
--       tasks, sent, dead, cancelled, scheduled and segments
--   where a key is its index in KEYS (0: none) and list(x) is a count and then the items
-- ) -> one character per task, '1' recorded, '0' no longer ours
--
-- Records finished tasks: each one's dead letters, progress and counters are written only if the
-- task is still in this worker's processing list (it leaves it here), so a task another worker has
-- taken over is left to that worker. Idempotent: a batch run again after a lost reply is recognised
-- by its number in the settle marker and changes nothing; the marker also keeps which tasks were
-- applied, to answer the retry the same way.
-- It also records what each recipient became, for the producer and for delivery reports: a task
-- with an id gets a status hash (number -> state JSON), and each accepted number with a vendor id a
-- receipt record (vendor id -> task and number), both with the receipt TTL. Reports may come first,
-- so neither write undoes one: a state a report wrote (delivered, undelivered) on the same message
-- is not replaced, and a receipt record that exists (written by the worker that sent the number, or
-- marked by its report) is kept. Each receipt record written joins the set of receipts awaiting a
-- report (scored by now), which the puller asks the vendors about and ``stats`` counts; entries
-- older than the receipt TTL leave it. A receipt for which the receiver holds reports that came
-- before it (the held hash) is queued on the held-due list, where the receiver applies them.
-- A status hash loses the fields a producer wrote as ``queued`` under the number as it was pushed
-- (the states are kept under E.164), and with ``--receipts-list`` every state written is also
-- pushed to the changes list, capped. The payload is kept with the receipts for
-- ``--dead-letter-undelivered``. The recipients sent and dead-lettered are also counted per minute
-- (kept two hours), for the dashboard's send-rate chart. Recipients due later join the scheduled set
-- (their own member each, so nothing is scheduled twice or lost between the two), a task of a paused
-- campaign is parked whole (or, when the campaign was resumed since it was read, put back at the
-- front of its lane: parked after the resume, it would wait for the next one), cancelled recipients are counted, and a task of a campaign adds to its
-- counters. The element's lane is forgotten with it.
--
-- Atomic because the task's leaving the processing list is what makes its outcome this worker's to
-- record: checked and written together, two workers can never both record one task, and a crash
-- leaves either all of a batch or none of it.

local batch, marker_ttl, progress_ttl, first_string = take(), take(), take(), tonumber(take())
local first_list = tonumber(take())
local ttl, now, changes_max = take(), take(), tonumber(take())
local prefix = take()  -- what a campaign's key starts with, before its name
local kinds = {
  'list', 'list', 'hash', 'string', 'zset', 'list', 'hash', 'hash', 'list', 'hash', 'zset', 'zset', 'hash'
}
for i = 14, #KEYS do
  kinds[i] = (i < first_string) and 'hash' or ((i < first_list) and 'string' or 'list')
end
local bad = wrong_type(KEYS, kinds)
if bad then return bad end
local marker = redis.call('GET', KEYS[4])
if marker then
  local recorded, applied = string.match(marker, '^(%d+):([01]*)$')
  if recorded == batch then return applied end
end
-- Whether the stored state ``current`` is a report on the very message ``new`` records: then the
-- report came first, and stays. (One on an earlier message, before a replay sent it again, does not.)
local function reported(current, new)
  if not current then return false end
  local ok, c = pcall(cjson.decode, current)
  local _, n = pcall(cjson.decode, new)
  return ok and type(c) == 'table' and type(n) == 'table' and type(c.message_id) == 'string'
    and (c.state == 'delivered' or c.state == 'undelivered') and c.message_id == n.message_id
end
local applied, sent, dead, tasks, segments, awaiting, changed = {}, 0, 0, 0, 0, 0, 0
local cancelled = 0
local campaign_fields = {'tasks', 'sent', 'dead', 'cancelled', 'scheduled', 'segments'}
while a < #ARGV do
  local element, progress, keep = take(), key(), take()
  local task_sent, task_dead, task_segments = tonumber(take()), tonumber(take()), tonumber(take())
  local envelopes, status = list(), key()
  local states = rows(3)  -- number, state JSON, change JSON or ''
  local drops = list()
  local receipts = rows(2)  -- receipt key (its index in KEYS), record JSON
  for _, r in ipairs(receipts) do r[1] = KEYS[tonumber(r[1])] end
  local payload = key()
  local payload_value = payload and take()
  local task_cancelled = tonumber(take())
  local later = rows(2)  -- due (unix s), member
  local parked = key()
  local parked_value, parked_lane, pause_field
  if parked then parked_value, parked_lane, pause_field = take(), key(), take() end
  local campaign = key()
  local counts = {}
  if campaign then for i = 1, #campaign_fields do counts[i] = tonumber(take()) end end
  if redis.call('LREM', KEYS[1], 1, element) == 1 then
    forget_origin(KEYS[10], element)
    for _, l in ipairs(later) do redis.call('ZADD', KEYS[11], l[1], l[2]) end
    if parked then
      if redis.call('HEXISTS', KEYS[13], pause_field) == 1 then
        redis.call('LPUSH', parked, parked_value)
      else
        redis.call('RPUSH', parked_lane, element)
      end
    end
    if campaign then
      for i, field in ipairs(campaign_fields) do
        if counts[i] ~= 0 then redis.call('HINCRBY', campaign, field, counts[i]) end
      end
      redis.call('EXPIRE', campaign, ttl)
      redis.call('ZADD', KEYS[12], now, string.sub(campaign, #prefix + 1))
    end
    cancelled = cancelled + task_cancelled
    for _, envelope in ipairs(envelopes) do redis.call('LPUSH', KEYS[2], envelope) end
    if progress then
      if keep == '1' then redis.call('EXPIRE', progress, progress_ttl) else redis.call('DEL', progress) end
    end
    if status and #states > 0 then
      for _, field in ipairs(drops) do redis.call('HDEL', status, field) end
      for _, s in ipairs(states) do
        if not reported(redis.call('HGET', status, s[1]), s[2]) then
          redis.call('HSET', status, s[1], s[2])
          if s[3] ~= '' then
            redis.call('LPUSH', KEYS[6], s[3])
            changed = changed + 1
          end
        end
      end
      redis.call('EXPIRE', status, ttl)
    end
    for _, r in ipairs(receipts) do
      if redis.call('SET', r[1], r[2], 'EX', ttl, 'NX') then
        redis.call('ZADD', KEYS[5], now, r[1])
        awaiting = awaiting + 1
      end
      if redis.call('HEXISTS', KEYS[8], r[1]) == 1 then redis.call('RPUSH', KEYS[9], r[1]) end
    end
    if payload then redis.call('SET', payload, payload_value, 'EX', ttl) end
    sent = sent + task_sent
    dead = dead + task_dead
    segments = segments + task_segments
    tasks = tasks + 1
    applied[#applied + 1] = '1'
  else
    applied[#applied + 1] = '0'
  end
end
redis.call('HINCRBY', KEYS[3], 'sent', sent)
redis.call('HINCRBY', KEYS[3], 'dead', dead)
redis.call('HINCRBY', KEYS[3], 'tasks', tasks)
redis.call('HINCRBY', KEYS[3], 'segments', segments)
if cancelled > 0 then redis.call('HINCRBY', KEYS[3], 'cancelled', cancelled) end
if sent + dead > 0 then
  redis.call('HINCRBY', KEYS[7], 'sent', sent)
  redis.call('HINCRBY', KEYS[7], 'dead', dead)
  redis.call('EXPIRE', KEYS[7], 7200)
end
if awaiting > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. (tonumber(now) - tonumber(ttl)))
  redis.call('EXPIRE', KEYS[5], ttl)
end
if changed > 0 then redis.call('LTRIM', KEYS[6], 0, changes_max - 1) end
local result = table.concat(applied)
redis.call('SET', KEYS[4], batch .. ':' .. result, 'EX', marker_ttl)
return result
