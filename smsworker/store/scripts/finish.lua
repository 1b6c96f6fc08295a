-- finish(
--   keys=[progress hash, ...] (one may come more than once),
--   args=read in order with take(): the TTL, then for each key: our reservation, list(sent
--        numbers), list(numbers to release), the count and the (number, "<provider> <message id>")
--        pairs, where list(x) is a count and then the items
-- ) -> the number of keys
--
-- After requests: the numbers sent are marked '1' (whoever held them), with who accepted each under
-- '@<number>', and our reservations on the others are released, so another claimant (a replay, a
-- duplicate) may take them. Several requests' marks in one call (worker/marks.py commits them in
-- groups).
--
-- Atomic because a release checks that the reservation is still ours before deleting it: a
-- claimant that took the number over in between keeps it.

local ttl = take()
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
