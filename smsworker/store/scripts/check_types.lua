-- wrong_type(keys, kinds): an error reply naming the first of ``keys`` that exists with a type other
-- than its entry in ``kinds``, else nil. Prepended to every script that calls it (scripts.py).
--
-- Why: Lua cannot undo. A write that fails half-way through a script (a key of the wrong type)
-- leaves the writes before it in place, and a task popped from one list but not pushed onto the
-- next would be lost. So the scripts that move tasks check every key's type first and write nothing
-- if one is wrong: the caller sees WRONGTYPE, and the task stays where it was.

local function wrong_type(keys, kinds)
  for i, key in ipairs(keys) do
    local found = redis.call('TYPE', key)['ok']
    if found ~= 'none' and found ~= kinds[i] then
      return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. found .. ', not a ' .. kinds[i])
    end
  end
end
