-- Apply one coalesced batch atomically: every pupil state written by the batch must still be at the
-- revision it was read at (else nothing is written and the caller re-reads and recomputes).
-- ARGV[1] = JSON {guards, states, counters, schools, notices, updated_at, changes_key, updated_key, schools_key}
local batch = cjson.decode(ARGV[1])
for _, guard in ipairs(batch.guards) do
  local rev = redis.call('HGET', guard[1], 'rev') or '0'
  if rev ~= guard[2] then
    return 0
  end
end
for _, state in ipairs(batch.states) do
  redis.call('HSET', state[1], 'rev', state[2], 'state', state[3])
end
for _, counter in ipairs(batch.counters) do
  local value = redis.call('HINCRBY', counter[1], counter[2], counter[3])
  if value == 0 then
    redis.call('HDEL', counter[1], counter[2])
  end
end
for _, school in ipairs(batch.schools) do
  local current = redis.call('HGET', batch.schools_key, school[1])
  if (not current) or cjson.decode(current).version < school[2] then
    redis.call('HSET', batch.schools_key, school[1], school[3])
  end
end
for _, notice in ipairs(batch.notices) do
  redis.call('XADD', batch.changes_key, 'MAXLEN', '~', '10000', '*',
    'academic_year', notice[1], 'period', notice[2], 'measures', notice[3], 'schools', notice[4])
end
if #batch.counters > 0 or #batch.schools > 0 then
  redis.call('SET', batch.updated_key, batch.updated_at)
end
return 1
