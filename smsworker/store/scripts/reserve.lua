-- reserve(keys=[progress hash], args=[our reservation, the hash's TTL, number, ...])
--   -> per number: '' ours now (free, or already ours), '1' sent (then a newline and who accepted
--      it, when that was recorded: progress.py), else the reservation of whoever holds it
--
-- Reserves recipients in a progress hash before their request.
--
-- Atomic so that of two claimants reading a free number at once only one writes its reservation
-- (a read then a write from the client would let both send it).

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
    out[#out + 1] = accepted and ('1\n' .. accepted) or '1'
  else
    out[#out + 1] = held
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
