-- hold(
--   keys=[held reports (hash), held since (zset), stats, the receipt key, the other readings'
--         receipt keys...],
--   args=[the report, now (unix s), the most reports held at once]
-- ) -> 'linked' (the record is there: apply it), 'held', or 'full' (not held: counted unmatched)
--
-- Holds a delivery report that came before its receipt record (its task has not settled yet),
-- unless the record has appeared meanwhile. The report is kept under its receipt key (one line of
-- JSON each; an identical report held already, a vendor's retry, is not held twice); where the
-- vendor's form of the number can be read two ways (Alibaba's), the other readings' keys point to
-- it ('=' and the key), so that whichever record the settle writes finds it.
--
-- Atomic against settle, which writes a record and then looks at the held hash: either this sees
-- the record or settle sees the report, never neither.

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
elseif not string.find('\n' .. lines .. '\n', '\n' .. ARGV[1] .. '\n', 1, true) then
  redis.call('HSET', KEYS[1], KEYS[4], lines .. '\n' .. ARGV[1])
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], KEYS[4])
for i = 5, #KEYS do
  if redis.call('HEXISTS', KEYS[1], KEYS[i]) == 0 then
    redis.call('HSET', KEYS[1], KEYS[i], '=' .. KEYS[4])
  end
end
return 'held'
