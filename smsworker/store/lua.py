"""The Lua scripts ``queue.py`` runs. Each runs atomically inside Redis: that is why they exist."""

# Lua cannot undo: a write that fails half-way through a script (a key of the wrong type) leaves the
# writes before it in place, and a task popped from one list but not pushed onto the next would be
# lost. So the scripts that move tasks check every key's type first, and write nothing if one is
# wrong: the caller sees WRONGTYPE, and the task stays where it was.
_CHECK_TYPES = """
local function wrong_type(keys, kinds)
  for i, key in ipairs(keys) do
    local found = redis.call('TYPE', key)['ok']
    if found ~= 'none' and found ~= kinds[i] then
      return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. found .. ', not a ' .. kinds[i])
    end
  end
end
"""

# Moves a processing list back to the front of the queue, newest first, so the oldest task ends up
# rightmost and is fetched first again. LPOP/RPUSH rather than LMOVE to work on Redis < 6.2.
# KEYS: processing list, queue, workers set, heartbeat, settle marker. ARGV[1]: the worker's id;
# then, position by position in the list as the caller read it, pairs of (element, what to push
# instead): how recovery counts a crash on each element (stamps.py). An element that is not the
# one expected at its position (the list changed since) goes back unchanged.
REQUEUE = (
    _CHECK_TYPES
    + """
local bad = wrong_type({KEYS[1], KEYS[2], KEYS[3]}, {'list', 'list', 'set'})
if bad then return bad end
local n = 0
while true do
  local v = redis.call('LPOP', KEYS[1])
  if not v then break end
  local at = 2 + 2 * n
  if ARGV[at] == v and ARGV[at + 1] then v = ARGV[at + 1] end
  redis.call('RPUSH', KEYS[2], v)
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
redis.call('SREM', KEYS[3], ARGV[1])
return n
"""
)

# Puts back elements that sit in a live worker's processing list although the worker does not hold
# them: a claim whose reply was lost (Redis executed it, the client timed out). Only elements still
# there move. KEYS: processing list, queue. ARGV: the elements.
REQUEUE_ORPHANS = (
    _CHECK_TYPES
    + """
local bad = wrong_type({KEYS[1], KEYS[2]}, {'list', 'list'})
if bad then return bad end
local n = 0
for i = 1, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    n = n + 1
  end
end
return n
"""
)

# Claims up to ARGV[1] tasks in one round trip when the queue is busy (the same move as LMOVE).
CLAIM_MANY = (
    _CHECK_TYPES
    + """
local bad = wrong_type({KEYS[1], KEYS[2]}, {'list', 'list'})
if bad then return bad end
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('RPOP', KEYS[1])
  if not v then break end
  redis.call('LPUSH', KEYS[2], v)
  out[i] = v
end
return out
"""
)

# Replaces a claimed element in our own processing list by its stamped form (ARGV[2]), where it
# stands. Run again after a lost reply it finds the stamped form already there and says yes.
# LPOS needs Redis 6.0.6; before that, remove and push it back at the head (order there matters
# only to the order of a recovery).
STAMP = """
local ok, index = pcall(redis.call, 'LPOS', KEYS[1], ARGV[1])
if ok then
  if not index then
    if redis.call('LPOS', KEYS[1], ARGV[2]) then return 1 end
    return 0
  end
  redis.call('LSET', KEYS[1], index, ARGV[2])
  return 1
end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# Records finished tasks: each one's dead letters, progress and counters are written only if the
# task is still in this worker's processing list (it leaves it here), so a task another worker has
# taken over is left to that worker. Idempotent: a batch run again after a lost reply is recognised
# by its number in the settle marker and changes nothing; the marker also keeps which tasks were
# applied, to answer the retry the same way.
# It also records what each recipient became, for the producer and for delivery reports: a task
# with an id gets a status hash (number -> state JSON), and each accepted number with a vendor id a
# receipt record (vendor id -> task and number), both with the receipt TTL. Reports may come first,
# so neither write undoes one: a state a report wrote (delivered, undelivered) on the same message
# is not replaced, and a receipt record that exists (written by the worker that sent the number, or
# marked by its report) is kept. Each receipt record written joins the set of receipts awaiting a
# report (scored by now), which the puller asks the vendors about and ``stats`` counts; entries
# older than the receipt TTL leave it. A receipt for which the receiver holds reports that came
# before it (the held hash) is queued on the held-due list, where the receiver applies them.
# A status hash loses the fields a producer wrote as ``queued`` under the number as it was pushed
# (the states are kept under E.164), and with ``--receipts-list`` every state written is also
# pushed to the changes list, capped.
# The recipients sent and dead-lettered are also counted per minute (kept two hours), for the
# dashboard's send-rate chart.
# KEYS: processing list, dead-letter list, stats, settle marker, awaiting set, changes list, this
# minute's counters, held reports, held-due list, then hashes (progress and status keys), then
# strings (receipt and payload keys), each named below by its index in KEYS (0: none).
# ARGV: batch number, marker TTL, id-progress TTL, index of the first string key in KEYS, receipt
# TTL, now (unix s), changes cap (0: off), then per task, read in order: element, progress key,
# keep progress (1/0), sent, dead, segments; the count and the envelopes; status key, the count
# and the (number, state JSON, change JSON or '') triples, the count and the fields to drop; the
# count and the (receipt key, JSON) pairs; payload key and, if one, the payload (kept with the
# receipts, for --dead-letter-undelivered).
SETTLE = (
    _CHECK_TYPES
    + """
local kinds = {'list', 'list', 'hash', 'string', 'zset', 'list', 'hash', 'hash', 'list'}
for i = 10, #KEYS do kinds[i] = (i < tonumber(ARGV[4])) and 'hash' or 'string' end
local bad = wrong_type(KEYS, kinds)
if bad then return bad end
local marker = redis.call('GET', KEYS[4])
if marker then
  local batch, applied = string.match(marker, '^(%d+):([01]*)$')
  if batch == ARGV[1] then return applied end
end
local ttl, now = ARGV[5], ARGV[6]
local a = 7
local function take() a = a + 1; return ARGV[a] end
local function key() local n = tonumber(take()); if n > 0 then return KEYS[n] end end
local function list() local out = {}; for n = 1, tonumber(take()) do out[n] = take() end; return out end
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
while a < #ARGV do
  local element, progress, keep = take(), key(), take()
  local task_sent, task_dead, task_segments = tonumber(take()), tonumber(take()), tonumber(take())
  local envelopes, status = list(), key()
  local states = {}
  for n = 1, tonumber(take()) do
    local number = take()
    local state = take()
    states[n] = {number, state, take()}
  end
  local drops = list()
  local receipts = {}
  for n = 1, tonumber(take()) do
    local receipt = key()
    receipts[n] = {receipt, take()}
  end
  local payload = key()
  local payload_value = payload and take()
  if redis.call('LREM', KEYS[1], 1, element) == 1 then
    for _, envelope in ipairs(envelopes) do redis.call('LPUSH', KEYS[2], envelope) end
    if progress then
      if keep == '1' then redis.call('EXPIRE', progress, ARGV[3]) else redis.call('DEL', progress) end
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
if sent + dead > 0 then
  redis.call('HINCRBY', KEYS[7], 'sent', sent)
  redis.call('HINCRBY', KEYS[7], 'dead', dead)
  redis.call('EXPIRE', KEYS[7], 7200)
end
if awaiting > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. (tonumber(now) - tonumber(ttl)))
  redis.call('EXPIRE', KEYS[5], ttl)
end
if changed > 0 then redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[7]) - 1) end
local result = table.concat(applied)
redis.call('SET', KEYS[4], ARGV[1] .. ':' .. result, 'EX', ARGV[2])
return result
"""
)

# Reserves recipients in a progress hash before their request. Per number: '' when it is ours now
# (free, or already ours), '1' when it was sent (followed by a newline and who accepted it, when
# that was recorded: progress.py), else the reservation of whoever holds it.
# KEYS[1]: the progress hash. ARGV: our reservation, the hash's TTL, the numbers.
RESERVE = """
local out = {}
for i = 3, #ARGV do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if not held then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    out[#out + 1] = ''
  elseif held == ARGV[1] then
    out[#out + 1] = ''
  elseif held == '1' then
    local accepted = redis.call('HGET', KEYS[1], '@' .. ARGV[i])
    out[#out + 1] = accepted and ('1\\n' .. accepted) or '1'
  else
    out[#out + 1] = held
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
"""

# Takes over reservations whose holder is dead, each only if it is still the one we saw.
# KEYS[1]: the progress hash. ARGV: our reservation, then pairs of (number, the dead reservation).
STEAL = """
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    n = n + 1
  end
end
return n
"""

# After requests: the numbers sent are marked '1' (whoever held them), with who accepted each under
# '@<number>', and our reservations on the others are released, so another claimant (a replay, a
# duplicate) may take them. Several requests' marks in one call (worker/marks.py commits them in
# groups). KEYS: progress hashes (one may come more than once). ARGV: the TTL, then for each key:
# our reservation, the count and the sent numbers, the count and the numbers to release, the count
# and the (number, "<provider> <message id>") pairs.
FINISH = """
local a = 1
local function take() a = a + 1; return ARGV[a] end
local ttl = ARGV[1]
for k = 1, #KEYS do
  local key, mine = KEYS[k], take()
  for _ = 1, tonumber(take()) do redis.call('HSET', key, take(), '1') end
  for _ = 1, tonumber(take()) do
    local number = take()
    if redis.call('HGET', key, number) == mine then redis.call('HDEL', key, number) end
  end
  for _ = 1, tonumber(take()) do
    local number = take()
    redis.call('HSET', key, '@' .. number, take())
  end
  if redis.call('EXISTS', key) == 1 then redis.call('EXPIRE', key, ttl) end
end
return #KEYS
"""

# Moves one envelope's task from the dead-letter list back to the queue, only if it is still there.
REPLAY = (
    _CHECK_TYPES
    + """
local bad = wrong_type({KEYS[1], KEYS[2]}, {'list', 'list'})
if bad then return bad end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
)

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

# Moves one key of the layout before hash tags (KEYS[1]) to its new name (KEYS[2]), safe when
# several workers start at once: whoever runs first moves it, the others find nothing. A new key
# that exists already (a worker of this version wrote it first) is merged into: lists get the old
# elements on the right (the older end of every list here), hashes the old fields it lacks (a
# recipient marked sent, '1', always wins; ARGV[1] 'sum' adds counters instead), sets and sorted
# sets the union; a string keeps the newer value. At most ARGV[2] list elements move per call, so a
# long dead-letter list does not stop Redis: 2 means call again. TTLs are kept.
MOVE_KEY = """
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
"""


# How long the element now at the head of the queue (the next to be taken) has been there, at
# least: the first time a reader sees an element at the head it notes it (whole when short, else its
# length and both ends: a fingerprint, not a copy of a 1 MB task) and the time; later reads answer
# the difference. Elements carry no push time, so this is the best Redis can say; the
# readers (the metrics scrape, the dashboard) look often enough for it to be close. -1: the queue is
# empty. KEYS: the queue, the note. ARGV: now (unix s), the note's TTL.
HEAD_AGE = """
local head = redis.call('LINDEX', KEYS[1], -1)
if not head then
  redis.call('DEL', KEYS[2])
  return '-1'
end
local digest = head
if #head > 256 then digest = #head .. ':' .. string.sub(head, 1, 128) .. string.sub(head, -128) end
local seen = redis.call('HMGET', KEYS[2], 'digest', 'at')
if seen[1] ~= digest then
  redis.call('HSET', KEYS[2], 'digest', digest, 'at', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return '0'
end
return tostring(math.max(0, tonumber(ARGV[1]) - tonumber(seen[2])))
"""


# Holds a delivery report that came before its receipt record (its task has not settled yet),
# unless the record has appeared meanwhile: then the caller applies it. Atomic against SETTLE,
# which writes a record and then looks here: either this sees the record or SETTLE sees the report.
# The report is kept under its receipt key (one line of JSON each; an identical report held already,
# a vendor's retry, is not held twice); where the vendor's form of the number can be read two ways
# (Alibaba's), the other readings' keys point to it ('=' and the key), so that whichever record the
# settle writes finds it. KEYS: held reports (hash), held since (zset), stats, the receipt key, then
# the other readings' receipt keys. ARGV: the report, now (unix s), the most reports held at once.
# Returns 'linked', 'held', or 'full' (not held: counted unmatched).
HOLD = """
for i = 4, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 'linked' end
end
if redis.call('HEXISTS', KEYS[1], KEYS[4]) == 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  redis.call('HINCRBY', KEYS[3], 'unmatched', 1)
  return 'full'
end
local lines = redis.call('HGET', KEYS[1], KEYS[4])
if not lines then
  redis.call('HSET', KEYS[1], KEYS[4], ARGV[1])
elseif not string.find('\\n' .. lines .. '\\n', '\\n' .. ARGV[1] .. '\\n', 1, true) then
  redis.call('HSET', KEYS[1], KEYS[4], lines .. '\\n' .. ARGV[1])
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], KEYS[4])
for i = 5, #KEYS do
  if redis.call('HEXISTS', KEYS[1], KEYS[i]) == 0 then
    redis.call('HSET', KEYS[1], KEYS[i], '=' .. KEYS[4])
  end
end
return 'held'
"""

# Forgets held reports once applied: the field only if it still holds what was read (a report held
# meanwhile stays, to be applied next time), the other readings' pointers to it, and the due entry.
# KEYS: held reports, held since, held due. ARGV: the due entry ('' for none), the receipt key, the
# lines applied, then the other readings' receipt keys.
FORGET_HELD = """
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
  for i = 4, #ARGV do
    if redis.call('HGET', KEYS[1], ARGV[i]) == '=' .. ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
end
if ARGV[1] ~= '' then redis.call('LREM', KEYS[3], 0, ARGV[1]) end
return 1
"""

# Takes (or keeps) a lock for one holder: true if ARGV[1] holds KEYS[1] now, for ARGV[2] seconds.
LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
