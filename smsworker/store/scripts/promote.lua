-- promote(
--   keys=[scheduled set, queue, then each lane's list],
--   args=[now (unix s), most to move, the key prefix, then the lanes' names in KEYS order]
-- ) -> how many tasks were moved
--
-- Moves the tasks due by ``now`` from the scheduled set to the back of their lanes (the queue when
-- they name none, or a lane this worker does not know), oldest due first, and takes their
-- recipients off their campaign's ``scheduled`` count. A member is
-- "<16 hex>\n<lane>\n<campaign>\n<recipients>\n<the task's bytes>".
--
-- Atomic so that each due task leaves the set exactly once, however many workers promote at the
-- same moment: ZREM and the push happen together, and a second worker finds it gone.

local kinds = {'zset'}
for i = 2, #KEYS do kinds[i] = 'list' end
local bad = wrong_type(KEYS, kinds)
if bad then return bad end
local now, most, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local lane_key = {}
for i = 4, #ARGV do lane_key[ARGV[i]] = KEYS[i - 1] end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, most)
for _, member in ipairs(due) do
  local _, _, lane, campaign, count, task = string.find(member, '^%x+\n([^\n]*)\n([^\n]*)\n(%d*)\n(.*)$')
  redis.call('ZREM', KEYS[1], member)
  if task then
    redis.call('LPUSH', lane_key[lane] or KEYS[2], task)
    if campaign ~= '' then
      local counters = prefix .. ':campaign:' .. campaign
      if redis.call('TYPE', counters)['ok'] == 'hash' then
        redis.call('HINCRBY', counters, 'scheduled', -(tonumber(count) or 0))
      end
    end
  else
    redis.call('LPUSH', KEYS[2], member)  -- not ours to read: the queue, where it is dead-lettered
  end
end
return #due
