-- forget_held(
--   keys=[held reports, held since, held due],
--   args=[the due entry ('' for none), the receipt key, the lines applied, the other readings'
--         receipt keys...]
-- ) -> 1
--
-- Forgets held reports once applied: the field only if it still holds what was read (a report held
-- meanwhile stays, to be applied next time), the other readings' pointers to it, and the due entry.
--
-- Atomic because the comparison and the delete must see the same value, or a report held between
-- them would be forgotten unapplied.

if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
  for i = 4, #ARGV do
    if redis.call('HGET', KEYS[1], ARGV[i]) == '=' .. ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
end
if ARGV[1] ~= '' then redis.call('LREM', KEYS[3], 0, ARGV[1]) end
return 1
