-- Apply one coalesced batch to one generation of a Trust's aggregates, atomically.
-- Returns 1 when written; 0 when a pupil state changed since it was read (nothing is written, the
-- caller re-reads and recomputes); -1 when the generation is neither the one readers use nor one
-- being rebuilt (nothing is written, the caller looks up the generations again).
--
-- ARGV[1] = JSON {generation, generation_key, building_key, states: [[key, read_rev, new_rev, n]],
--                 counters: [[key, field, increment]], schools: [[id, version, json]], notices:
--                 [[year, period, measures, schools]], updated_at, changes_key, updated_key, schools_key,
--                 versions_key}
-- ARGV[2..] = the field/value pairs of each state in order, n pairs for each (raw JSON, unescaped).
local batch = cjson.decode(ARGV[1])

local active = redis.call('GET', batch.generation_key) or ''
local is_active = batch.generation == active
if not is_active and redis.call('SISMEMBER', batch.building_key, batch.generation) == 0 then
  return -1
end

for _, state in ipairs(batch.states) do
  local rev = redis.call('HGET', state[1], 'rev') or '0'
  if rev ~= state[2] then
    return 0
  end
end

local arg = 2
for _, state in ipairs(batch.states) do
  local fields = {'rev', state[3]}
  for _ = 1, state[4] do
    fields[#fields + 1] = ARGV[arg]
    fields[#fields + 1] = ARGV[arg + 1]
    arg = arg + 2
  end
  redis.call('HSET', state[1], unpack(fields))
end

local touched = {}
for _, counter in ipairs(batch.counters) do
  local value = redis.call('HINCRBY', counter[1], counter[2], counter[3])
  if value == 0 then
    redis.call('HDEL', counter[1], counter[2])
  end
  touched[counter[1]] = true
end
-- Every counter hash written gets a new version, so readers may cache hashes and re-read only those
-- whose version moved.
for key in pairs(touched) do
  redis.call('HINCRBY', batch.versions_key, key, 1)
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
if #batch.counters > 0 or #batch.schools > 0 then
  redis.call('SET', batch.updated_key, batch.updated_at)
end
return 1
