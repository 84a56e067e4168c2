-- Apply one coalesced batch to one generation of a Trust's aggregates, atomically.
-- Returns 1 when written; 0 when a pupil state changed since it was read (nothing is written, the
-- caller re-reads and recomputes); -1 when the generation is neither the one readers use nor one
-- being rebuilt (nothing is written, the caller looks up the generations again).
--
-- ARGV[1] = JSON {generation, generation_key, building_key, states: <number of pupil states>,
--                 counters: <number of counter hashes>, schools: [[id, version, json]], notices:
--                 [[year, period, measures, schools]], updated_at, changes_key, updated_key,
--                 schools_key, versions_key}
-- ARGV[2] = the pupil states, NUL-separated: per state key, revision read, new revision, n, then n
--           field/value pairs (raw JSON values, which never hold a NUL);
-- ARGV[3] = the counters, NUL-separated: per counter hash key, m, then m field/increment pairs (a
--           counter reaching 0 goes).
-- The bulk travels as two strings cut with a plain find: decoding it as JSON in Lua, or passing
-- each piece as its own argument, costs more than everything the script then does.
local batch = cjson.decode(ARGV[1])

local function reader(blob)
  local at = 1
  return function()
    local stop = string.find(blob, '\0', at, true)
    local token = string.sub(blob, at, stop - 1)
    at = stop + 1
    return token
  end
end

local active = redis.call('GET', batch.generation_key) or ''
local is_active = batch.generation == active
if not is_active and redis.call('SISMEMBER', batch.building_key, batch.generation) == 0 then
  return -1
end

local states = {}
local read = reader(ARGV[2])
for s = 1, batch.states do
  local key, revision, new_revision, n = read(), read(), read(), tonumber(read())
  if (redis.call('HGET', key, 'rev') or '0') ~= revision then
    return 0
  end
  local fields = {'rev', new_revision}
  for i = 1, 2 * n do
    fields[i + 2] = read()
  end
  states[s] = {key, fields}
end

for _, state in ipairs(states) do
  redis.call('HSET', state[1], unpack(state[2]))
end

-- Every counter hash written gets a new version, so readers may cache hashes and re-read only those
-- whose version moved.
read = reader(ARGV[3])
local written = 0
for _ = 1, batch.counters do
  local key, m = read(), tonumber(read())
  for _ = 1, m do
    local field = read()
    if redis.call('HINCRBY', key, field, read()) == 0 then
      redis.call('HDEL', key, field)
    end
  end
  redis.call('HINCRBY', batch.versions_key, key, 1)
  written = written + m
end

for _, school in ipairs(batch.schools) do
  local current = redis.call('HGET', batch.schools_key, school[1])
  if (not current) or cjson.decode(current).version < school[2] then
    redis.call('HSET', batch.schools_key, school[1], school[3])
  end
end

if is_active then
  for _, notice in ipairs(batch.notices) do
    redis.call('XADD', batch.changes_key, 'MAXLEN', '~', '10000', '*',
      'academic_year', notice[1], 'period', notice[2], 'measures', notice[3], 'schools', notice[4])
  end
end
if written > 0 or #batch.schools > 0 then
  redis.call('SET', batch.updated_key, batch.updated_at)
end
return 1
