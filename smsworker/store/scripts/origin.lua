-- forget_origin(processing list, origin hash, element): drops the element's lane from the origin
-- hash once no equal element is left in the processing list. Prepended to every script that calls it
-- (scripts.py).
--
-- Why: equal elements share one field. Before Redis 6.0.6 (no LPOS) the field goes at once: a copy
-- left then goes back to the queue on recovery and is routed again, to the back of its lane.

local function forget_origin(processing, origin, element)
  local ok, found = pcall(redis.call, 'LPOS', processing, element)
  if not (ok and found) then redis.call('HDEL', origin, element) end
end
