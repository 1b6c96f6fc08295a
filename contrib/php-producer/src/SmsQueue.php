<?php

declare(strict_types=1);

namespace SmsWorker\Producer;

/**
 * Pushes SMS tasks onto the Redis list smsworker consumes, in exactly the format of
 * docs/task-contract.md (the seed's `$redis->lPush('sms_queue', json_encode([...]))`, done right).
 *
 *     $queue = new SmsQueue($redis);                 // phpredis \Redis or \RedisCluster, or Predis
 *     $queue->push(123, ['13800138000'], 'Your code is 1234');
 *
 * The tasks go to the list named $queue, unchanged; smsworker's other keys of that queue are named
 * {$queue}:... (the braces are a Redis Cluster hash tag: they share the queue's slot), e.g. the
 * dead-letter list {sms_queue}:dead and a task's status {sms_queue}:status:<id>.
 *
 * Traffic control writes the keys the workers read: {sms_queue}:paused (pause, resume),
 * {sms_queue}:cancel:id:<id> and :cancel:campaign:<name> (cancel), and reads a campaign's counters.
 */
final class SmsQueue
{
    // LPUSH the task and mark each recipient queued (HSETNX) in one step: a script, because a
    // Predis cluster client cannot run MULTI. Both keys share the queue's slot.
    private const PUSH_WITH_ID = <<<'LUA'
local length = redis.call('LPUSH', KEYS[1], ARGV[1])
for i = 4, #ARGV do redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[3]) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return length
LUA;

    // wrong_type(keys, kinds): an error reply naming the first of keys that exists with a type other
    // than its entry in kinds, else nil; the scripts below that write several keys start with it. The
    // same function as smsworker's store/scripts/check_types.lua, copied: this library ships alone.
    // Lua cannot undo: a write failing half-way through (a key of the wrong type) would leave the
    // writes before it, so these scripts check every key first and write nothing if one is wrong.
    private const WRONG_TYPE = <<<'LUA'
local function wrong_type(keys, kinds)
  for i, key in ipairs(keys) do
    local found = redis.call('TYPE', key)['ok']
    if found ~= 'none' and found ~= kinds[i] then
      return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. found .. ', not a ' .. kinds[i])
    end
  end
end

LUA;

    // Cancel the task pushed with an id, as smsworker's cancel_task.lua does: the cancel key (NX: a
    // second cancel keeps the first one's time and author) tells workers to end its recipients not
    // yet sent as cancelled; each recipient the status hash shows waiting (queued, scheduled,
    // deferred) reads cancelled at once. One step, so that the states answered are the ones the
    // cancel saw: a worker writing 'sent' lands either before (answered sent) or after (sent already).
    // KEYS[1] {Q}:cancel:id:<id>, KEYS[2] {Q}:status:<id>; ARGV[1] the cancel's JSON, ARGV[2] its TTL
    // (s), ARGV[3] the state JSON of a cancelled recipient.
    // Returns {1 if the cancel is new else 0, then each number of the status hash and its state}.
    private const CANCEL_TASK = self::WRONG_TYPE . <<<'LUA'
local bad = wrong_type(KEYS, {'string', 'hash'})
if bad then return bad end
local new = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) and 1 or 0
local out = {new}
local fields = redis.call('HGETALL', KEYS[2])
local waiting = {queued = true, scheduled = true, deferred = true}
for i = 1, #fields, 2 do
  local ok, state = pcall(cjson.decode, fields[i + 1])
  local name = ''
  if ok and type(state) == 'table' and type(state['state']) == 'string' then name = state['state'] end
  if waiting[name] then
    redis.call('HSET', KEYS[2], fields[i], ARGV[3])
    name = 'cancelled'
  end
  out[#out + 1] = fields[i]
  out[#out + 1] = name
end
return out
LUA;

    // Resume or cancel a campaign, as smsworker's unpark.lua does: its paused field goes (a cancel
    // outranks a pause), a cancel sets its cancel key (NX: a second cancel keeps the first one's time
    // and author), and the tasks workers parked while it was paused (each element: its lane, "\n",
    // the task; newest on the left) go back to the front of their lanes (the right end, which workers
    // take from), the oldest frontmost; lane "" is the queue itself. One step, so that each parked
    // task moves exactly once: two calls at the same time cannot both move it, and none is lost
    // between the read and the delete. Every lane a parked element names is given in KEYS (a Redis
    // Cluster, or a cloud proxy, runs a script on the keys it is given); every key is checked to be of
    // its type before the first write (WRONG_TYPE).
    // KEYS[1] {Q}:paused, KEYS[2] {Q}:parked:<name>, KEYS[3] Q, KEYS[4] {Q}:cancel:campaign:<name>,
    //         then {Q}:lane:<lane> for each ARGV[4..].
    // ARGV[1] the paused field campaign:<name>, ARGV[2] the cancel's JSON ('' to resume), ARGV[3] its
    //         TTL (s), ARGV[4..] the lanes the parked elements named when the caller read them.
    // Returns how many tasks it moved, or -1 when an element names a lane not in KEYS (parked since
    // the caller read the list: nothing is written, read it again and call again).
    private const UNPARK = self::WRONG_TYPE . <<<'LUA'
local lanes = {[''] = KEYS[3]}
local kinds = {'hash', 'list', 'list', 'string'}
for i = 4, #ARGV do
  lanes[ARGV[i]] = KEYS[i + 1]
  kinds[i + 1] = 'list'
end
local bad = wrong_type(KEYS, kinds)
if bad then return bad end
local parked = redis.call('LRANGE', KEYS[2], 0, -1)
local moves = {}
for i, element in ipairs(parked) do
  local cut = string.find(element, '\n', 1, true)
  local lane, task = '', element
  if cut then lane, task = string.sub(element, 1, cut - 1), string.sub(element, cut + 1) end
  if not lanes[lane] then return -1 end
  moves[i] = {lanes[lane], task}
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[4], ARGV[2], 'NX', 'EX', ARGV[3]) end
redis.call('HDEL', KEYS[1], ARGV[1])
for _, move in ipairs(moves) do redis.call('RPUSH', move[1], move[2]) end
redis.call('DEL', KEYS[2])
return #moves
LUA;

    /** What a lane's name matches (the worker's own rule). */
    public const LANE_PATTERN = '/^[a-z0-9][a-z0-9_-]{0,31}$/D';
    /** A send_at further ahead than this (366 days) is a dead letter to the worker: refused here. */
    public const MAX_SCHEDULE_AHEAD = 31622400;
    /** The counters of a campaign, as campaign() returns them. */
    public const CAMPAIGN_COUNTERS = ['tasks', 'sent', 'dead', 'cancelled', 'scheduled', 'delivered', 'undelivered', 'segments'];
    /** The states of a number that has reached the provider: a cancel cannot stop it any more. */
    private const SENT_STATES = ['sent', 'delivered', 'undelivered'];

    /** @var \Redis|\RedisCluster|\Predis\ClientInterface */
    private $redis;
    private string $queue;
    private string $prefix;
    private bool $predis;
    private int $statusTtl;

    /**
     * @param \Redis|\RedisCluster|\Predis\ClientInterface $redis
     * @param int $statusTtl smsworker's --receipt-ttl (72 h by default): how long a task's status is
     *                       kept, a cancel lasts, and a campaign stays listed
     */
    public function __construct($redis, string $queue = 'sms_queue', int $statusTtl = 259200)
    {
        if ($redis instanceof \Redis || (class_exists('RedisCluster') && $redis instanceof \RedisCluster)) {
            $this->predis = false;
        } elseif (interface_exists('Predis\ClientInterface') && $redis instanceof \Predis\ClientInterface) {
            $this->predis = true;
        } else {
            throw new \InvalidArgumentException(
                'SmsQueue needs a phpredis \Redis or \RedisCluster, or a Predis client, got '
                . (is_object($redis) ? get_class($redis) : gettype($redis))
            );
        }
        if ($queue === '') {
            throw new \InvalidArgumentException('the queue name must not be empty');
        }
        if ($statusTtl < 1) {
            throw new \InvalidArgumentException('statusTtl must be at least 1 second');
        }
        $this->redis = $redis;
        $this->queue = $queue;
        $this->prefix = self::keyPrefix($queue);
        $this->statusTtl = $statusTtl;
    }

    /**
     * What smsworker's keys of $queue start with: '{' . $queue . '}', or $queue itself when it holds
     * a hash tag of its own ('{app}:sms'). smsworker's keys.py says the same.
     */
    public static function keyPrefix(string $queue): string
    {
        $start = strpos($queue, '{');
        $end = $start === false ? false : strpos($queue, '}', $start + 1);
        return ($end !== false && $end > $start + 1) ? $queue : '{' . $queue . '}';
    }

    /**
     * Queue one task. $options: 'id' => string (idempotency key) or true (generate one),
     * 'params' => array of template variables, 'lane' => the lane to send it in (a lane the workers
     * declare), 'sendAt' => when to send it (unix seconds or a \DateTimeInterface) or 'delay' =>
     * seconds from now, 'campaign' => the campaign it belongs to (1 to 64 characters). Returns the
     * queue length after the push.
     *
     * @param int|string $templateId
     * @param array<int|string, int|string> $mobiles
     * @param array{id?: string|int|bool, params?: array<string, mixed>|null, lane?: string,
     *              sendAt?: int|\DateTimeInterface, delay?: int, campaign?: string} $options
     */
    public function push($templateId, array $mobiles, string $content, array $options = []): int
    {
        return $this->lpush([$this->encode($templateId, $mobiles, $content, $options)]);
    }

    /**
     * Queue one task with an id (the one in $options['id'], or a fresh one) and return the id, to
     * read what became of each recipient later with status(). In the same transaction each recipient
     * is marked 'queued' in the task's status, under the number as pushed (a state already known for
     * it, from the same id pushed before, stays).
     *
     * @param int|string $templateId
     * @param array<int|string, int|string> $mobiles
     * @param array{id?: string|int|bool, params?: array<string, mixed>|null, lane?: string,
     *              sendAt?: int|\DateTimeInterface, delay?: int, campaign?: string} $options
     */
    public function pushWithId($templateId, array $mobiles, string $content, array $options = []): string
    {
        $given = $options['id'] ?? true;
        $options['id'] = ($given === true || $given === false) ? self::newId() : (string) $given;
        $payload = $this->encode($templateId, $mobiles, $content, $options);
        $numbers = json_decode($payload, true)['mobiles']; // as pushed: trimmed strings
        $key = "{$this->prefix}:status:{$options['id']}";
        $queued = json_encode(['state' => 'queued', 'at' => round(microtime(true), 3)]);
        $args = [$payload, (string) $this->statusTtl, $queued, ...$numbers];
        $this->evalScript("push to Redis list {$this->queue}", self::PUSH_WITH_ID, [$this->queue, $key], $args);
        return $options['id'];
    }

    /**
     * The next status change, oldest first, when smsworker runs with --receipts-list: ['id' => the
     * task's id, 'number' => E.164 (or as pushed, for an invalid one), 'state' => 'sent'|'dead'|
     * 'delivered'|'undelivered', 'at' => unix time, ...the state's other fields]. Waits up to
     * $timeout seconds (0: for ever); null when none came.
     *
     * @return array<string, mixed>|null
     */
    public function nextChange(int $timeout = 0): ?array
    {
        if ($timeout < 0) {
            throw new SmsQueueException("nextChange() takes a timeout of 0 (wait for ever) or more seconds, got {$timeout}");
        }
        $key = "{$this->prefix}:changes";
        // One BRPOP of at most a second at a time: a blocking call longer than the client's socket
        // read timeout (php's default_socket_timeout, 60 s, in phpredis and Predis alike) ends in a
        // read error, so one long BRPOP would fail instead of waiting. A timeout ends within a second
        // after it is due.
        $deadline = $timeout > 0 ? microtime(true) + $timeout : null;
        do {
            try {
                $popped = $this->predis ? $this->redis->brpop([$key], 1) : $this->redis->brPop([$key], 1);
            } catch (\Throwable $e) {
                throw new SmsQueueException("cannot read Redis list {$key}: " . $e->getMessage(), 0, $e);
            }
            if (is_array($popped) && count($popped) >= 2) {
                $change = json_decode((string) $popped[1], true);
                return is_array($change) ? $change : ['state' => 'unreadable', 'raw' => (string) $popped[1]];
            }
        } while ($deadline === null || microtime(true) < $deadline);
        return null;
    }

    /**
     * What became of each recipient of the task pushed with $id: number => ['state' => ..., 'at' =>
     * unix time, ...]. 'queued' (under the number as pushed, from pushWithId) until the task settles;
     * then under E.164: 'sent' ('provider', 'message_id') or 'dead' ('reason', 'error', 'code'),
     * and from the vendor's delivery report 'delivered' or 'undelivered' ('code', 'text', 'history').
     * An empty array for an unknown id, and after smsworker's --receipt-ttl (72 h by default).
     *
     * @return array<string, array<string, mixed>>
     */
    public function status(string $id): array
    {
        return $this->readJsonHash("{$this->prefix}:status:{$id}");
    }

    /**
     * Queue many tasks in one round trip (one LPUSH: all or none, in order).
     *
     * @param list<array{template_id: int|string, mobiles: array<int|string, int|string>, content: string,
     *                   id?: string|int|bool, params?: array<string, mixed>|null, lane?: string,
     *                   sendAt?: int|\DateTimeInterface, delay?: int, campaign?: string}> $tasks
     */
    public function pushMany(array $tasks): int
    {
        if ($tasks === []) {
            throw new \InvalidArgumentException('pushMany needs at least one task');
        }
        $payloads = [];
        foreach ($tasks as $task) {
            $payloads[] = $this->encode($task['template_id'] ?? null, $task['mobiles'] ?? [], $task['content'] ?? '', $task);
        }
        return $this->lpush($payloads);
    }

    /**
     * Pause sending: with no argument everything (`all`), else one lane or one provider (one scope
     * per call). Workers start no new send for what is paused, within a quarter of a second; what it
     * covers stays queued. $by says who paused it (shown by `smsworker` and the dashboard). True when
     * it was not paused before (a second pause keeps the first one's time and $by).
     */
    public function pause(?string $lane = null, ?string $provider = null, string $by = 'php'): bool
    {
        return $this->pauseScope(self::scope($lane, $provider), $by);
    }

    /** Undo pause() of the same scope (no argument: `all`). True when it was paused. */
    public function resume(?string $lane = null, ?string $provider = null): bool
    {
        $scope = self::scope($lane, $provider);
        $key = $this->prefix . ':paused';
        return $this->call("write Redis hash {$key}", fn ($redis) => $this->predis
            ? $redis->hdel($key, [$scope])
            : $redis->hDel($key, $scope)) === 1;
    }

    /**
     * What is paused: scope (`all`, `lane:<name>`, `provider:<name>`, `campaign:<name>`) =>
     * ['at' => unix time, 'by' => who], by scope.
     *
     * @return array<string, array<string, mixed>>
     */
    public function paused(): array
    {
        return $this->readJsonHash($this->prefix . ':paused');
    }

    /**
     * Cancel the task pushed with $id, for the receipt TTL: workers end each of its recipients not
     * yet sent as `cancelled`, and those its status shows waiting read `cancelled` at once. Returns
     * 'cancelled' => false when it was cancelled already (the first cancel's time and $by stay), and
     * what its status said, each a list of numbers: 'sent' (with the provider already: a cancel
     * cannot call them back), 'pending' (not sent: they end `cancelled`) and 'dead'. The lists are
     * empty for a task pushed without pushWithId(), whose recipients are cancelled all the same.
     *
     * @return array{cancelled: bool, sent: list<string>, pending: list<string>, dead: list<string>}
     */
    public function cancel(string $id, string $by = 'php'): array
    {
        if (trim($id) === '') {
            throw new \InvalidArgumentException('cancel() needs the id the task was pushed with');
        }
        $keys = ["{$this->prefix}:cancel:id:{$id}", "{$this->prefix}:status:{$id}"];
        $cancelled = json_encode(['state' => 'cancelled', 'at' => round(microtime(true), 3)]);
        $args = [$this->stamp($by), (string) $this->cancelTtl(), $cancelled];
        $reply = $this->evalScript("cancel task {$id}", self::CANCEL_TASK, $keys, $args);
        $states = [];
        for ($i = 1; $i + 1 < count($reply); $i += 2) {
            $states[(string) $reply[$i]] = (string) $reply[$i + 1];
        }
        ksort($states, SORT_STRING);
        $answer = ['cancelled' => (int) $reply[0] === 1, 'sent' => [], 'pending' => [], 'dead' => []];
        foreach ($states as $number => $state) {
            $list = in_array($state, self::SENT_STATES, true) ? 'sent' : ($state === 'dead' ? 'dead' : 'pending');
            $answer[$list][] = (string) $number;
        }
        return $answer;
    }

    /**
     * Pause one campaign (its tasks that workers take meanwhile wait aside, parked, in
     * {sms_queue}:parked:<name>). True when it was not paused before.
     */
    public function pauseCampaign(string $name, string $by = 'php'): bool
    {
        return $this->pauseScope('campaign:' . self::campaignName($name), $by);
    }

    /**
     * Resume a paused campaign and move its parked tasks back to the front of their lanes, in one
     * step. Returns how many tasks were moved back.
     */
    public function resumeCampaign(string $name): int
    {
        return $this->unpark(self::campaignName($name), '');
    }

    /**
     * Cancel every task of a campaign, for the receipt TTL: workers end their recipients not yet
     * sent as `cancelled`, queued, scheduled and parked alike. Its pause goes (a cancel outranks it)
     * and its parked tasks go back to their lanes, in the same step, so that workers reach them.
     * Returns how many were moved back. A second cancel keeps the first one's time and $by.
     */
    public function cancelCampaign(string $name, string $by = 'php'): int
    {
        return $this->unpark(self::campaignName($name), $this->stamp($by));
    }

    /**
     * A campaign's counters, each an int (0 when none yet): tasks, sent, dead, cancelled, scheduled
     * (recipients waiting for their time), delivered, undelivered, segments. All 0 for an unknown
     * campaign, and once the receipt TTL has passed since its last change.
     *
     * @return array<string, int>
     */
    public function campaign(string $name): array
    {
        $key = "{$this->prefix}:campaign:" . self::campaignName($name);
        $found = $this->hgetall($key);
        $counters = [];
        foreach (self::CAMPAIGN_COUNTERS as $counter) {
            $counters[$counter] = (int) ($found[$counter] ?? 0);
        }
        return $counters;
    }

    /**
     * The campaigns written to within the receipt TTL, the latest first: a list of
     * ['name' => the campaign, 'at' => unix time of its last change]. Older ones are dropped.
     *
     * @return list<array{name: string, at: float}>
     */
    public function campaigns(): array
    {
        $key = "{$this->prefix}:campaigns";
        $cutoff = microtime(true) - $this->statusTtl;
        $this->call("write Redis sorted set {$key}", fn ($redis) => $this->predis
            ? $redis->zremrangebyscore($key, '-inf', "({$cutoff}")
            : $redis->zRemRangeByScore($key, '-inf', "({$cutoff}"));
        $found = $this->call("read Redis sorted set {$key}", fn ($redis) => $this->predis
            ? $redis->zrevrange($key, 0, -1, ['withscores' => true])
            : $redis->zRevRange($key, 0, -1, true));
        $campaigns = [];
        foreach ($found as $name => $at) {
            $campaigns[] = ['name' => (string) $name, 'at' => (float) $at];
        }
        return $campaigns;
    }

    /** A fresh idempotency key. */
    public static function newId(): string
    {
        return bin2hex(random_bytes(16));
    }

    /**
     * The JSON smsworker consumes, guarding against PHP's pitfalls: array_values() so json_encode
     * writes a list, numbers as strings, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR.
     *
     * @param mixed $templateId
     * @param array<int|string, mixed> $mobiles
     * @param array<string, mixed> $options
     */
    public function encode($templateId, array $mobiles, string $content, array $options = []): string
    {
        if (!(is_int($templateId) || (is_string($templateId) && trim($templateId) !== ''))) {
            throw new \InvalidArgumentException('template_id must be an integer or a non-empty string');
        }
        $list = [];
        foreach (array_values($mobiles) as $mobile) {
            if (is_int($mobile)) {
                $mobile = (string) $mobile;
            }
            if (!is_string($mobile) || trim($mobile) === '') {
                throw new \InvalidArgumentException('each mobile must be a non-empty string or an integer');
            }
            $list[] = trim($mobile);
        }
        if ($list === []) {
            throw new \InvalidArgumentException('mobiles must not be empty');
        }
        $task = ['template_id' => $templateId, 'mobiles' => $list, 'content' => $content];
        $params = $options['params'] ?? null;
        if ($params !== null) {
            if (!is_array($params)) {
                throw new \InvalidArgumentException('params must be an array of template variables');
            }
            $task['params'] = (object) $params; // {} even when empty: json_encode writes [] for an empty array
        }
        if ($content === '' && empty($params)) {
            throw new \InvalidArgumentException('content is empty and there are no params to send');
        }
        if (isset($options['id']) && $options['id'] !== false) {
            $task['id'] = $options['id'] === true ? self::newId() : (string) $options['id'];
        }
        if (isset($options['lane'])) {
            $task['lane'] = self::laneName($options['lane']);
        }
        $sendAt = self::sendAt($options);
        if ($sendAt !== null) {
            $task['send_at'] = $sendAt;
        }
        if (isset($options['campaign'])) {
            $task['campaign'] = self::campaignName($options['campaign']);
        }
        try {
            return json_encode($task, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new SmsQueueException('cannot encode the task as JSON: ' . $e->getMessage(), 0, $e);
        }
    }

    /**
     * The lane option, checked: a lane's name is what the workers accept.
     *
     * @param mixed $lane
     */
    private static function laneName($lane): string
    {
        if (!is_string($lane) || !preg_match(self::LANE_PATTERN, $lane)) {
            throw new \InvalidArgumentException(
                'lane must be 1 to 32 lowercase letters, digits, _ and -, starting with a letter or digit, got '
                . self::describe($lane)
            );
        }
        return $lane;
    }

    /**
     * The campaign option, checked: 1 to 64 characters of UTF-8, no control characters nor line
     * breaks (U+2028, U+2029): the worker dead-letters a task whose campaign is not so.
     *
     * @param mixed $campaign
     */
    private static function campaignName($campaign): string
    {
        if (!is_string($campaign) || !preg_match('/^[^\p{Cc}\x{2028}\x{2029}]{1,64}$/uD', $campaign)) {
            throw new \InvalidArgumentException(
                'campaign must be 1 to 64 characters of UTF-8 with no control characters or line breaks, got '
                . self::describe($campaign)
            );
        }
        return $campaign;
    }

    /**
     * The task's send_at (unix seconds) from the options sendAt or delay, or null to send it now.
     *
     * @param array<string, mixed> $options
     */
    private static function sendAt(array $options): ?int
    {
        if (array_key_exists('send_at', $options)) {
            throw new \InvalidArgumentException('send_at is written from the option sendAt (or delay): give that instead');
        }
        $sendAt = $options['sendAt'] ?? null;
        $delay = $options['delay'] ?? null;
        if ($sendAt !== null && $delay !== null) {
            throw new \InvalidArgumentException('give sendAt or delay, not both');
        }
        if ($sendAt !== null) {
            if (!is_int($sendAt) && !$sendAt instanceof \DateTimeInterface) {
                throw new \InvalidArgumentException(
                    'sendAt must be unix seconds (an int) or a DateTimeInterface, got ' . self::describe($sendAt)
                );
            }
            $at = is_int($sendAt) ? $sendAt : $sendAt->getTimestamp();
            $option = 'sendAt';
        } elseif ($delay !== null) {
            if (!is_int($delay) || $delay < 0) {
                throw new \InvalidArgumentException('delay must be a number of seconds (an int, 0 or more), got ' . self::describe($delay));
            }
            $at = time() + $delay;
            $option = 'delay';
        } else {
            return null;
        }
        if ($at < 0) {
            throw new \InvalidArgumentException("{$option} is before 1970 (negative unix seconds): the worker would dead-letter the task");
        }
        if ($at - time() > self::MAX_SCHEDULE_AHEAD) {
            $hint = $at > 100000000000 ? ' (milliseconds instead of seconds?)' : '';
            throw new \InvalidArgumentException("{$option} is more than 366 days ahead{$hint}: the worker would dead-letter the task");
        }
        return $at;
    }

    /** The P:paused field of pause() and resume(): `all`, `lane:<name>` or `provider:<name>`. */
    private static function scope(?string $lane, ?string $provider): string
    {
        if ($lane !== null && $provider !== null) {
            throw new \InvalidArgumentException('pause and resume take a lane or a provider, not both (one scope per call)');
        }
        if ($lane !== null) {
            return 'lane:' . self::laneName($lane);
        }
        if ($provider !== null && !preg_match(self::LANE_PATTERN, $provider)) {
            throw new \InvalidArgumentException('provider must be a provider\'s name as the workers know it (aliyun, tencent, ...), got ' . self::describe($provider));
        }
        return $provider !== null ? 'provider:' . $provider : 'all';
    }

    /**
     * A value as an error message shows it: a string in JSON quotes, a number as it is, else its type.
     *
     * @param mixed $value
     */
    private static function describe($value): string
    {
        if (is_string($value)) {
            return (string) json_encode($value, JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        }
        if (is_int($value) || is_float($value)) {
            return var_export($value, true);
        }
        return is_object($value) ? get_class($value) : gettype($value);
    }

    /** The JSON of pause and cancel: {"at": unix time, "by": who}. */
    /**
     * How long a cancel lasts: as long as a task may wait scheduled (366 days) and a day, or the
     * status TTL if longer, so a task scheduled far ahead is not sent once its cancel expires.
     */
    private function cancelTtl(): int
    {
        return max($this->statusTtl, 367 * 86400);
    }

    private function stamp(string $by): string
    {
        try {
            $stamp = ['at' => round(microtime(true), 3), 'by' => $by];
            return json_encode($stamp, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new SmsQueueException('cannot encode "by" as JSON: ' . $e->getMessage(), 0, $e);
        }
    }

    /** HSETNX the scope in {Q}:paused: true when it was not paused before. */
    private function pauseScope(string $scope, string $by): bool
    {
        $key = $this->prefix . ':paused';
        $stamp = $this->stamp($by);
        return (bool) $this->call("write Redis hash {$key}", fn ($redis) => $this->predis
            ? $redis->hsetnx($key, $scope, $stamp)
            : $redis->hSetNx($key, $scope, $stamp), true);
    }

    /** @return array<int|string, string> */
    private function hgetall(string $key): array
    {
        $found = $this->call("read Redis hash {$key}", fn ($redis) => $this->predis ? $redis->hgetall($key) : $redis->hGetAll($key));
        if (!is_array($found)) {
            throw new SmsQueueException("cannot read Redis hash {$key}");
        }
        return $found;
    }

    /**
     * A hash of JSON values, decoded, by field: ['state' => 'unreadable'] for a value that is not
     * a JSON object.
     *
     * @return array<string, array<string, mixed>>
     */
    private function readJsonHash(string $key): array
    {
        $decoded = [];
        foreach ($this->hgetall($key) as $field => $json) {
            $value = json_decode((string) $json, true);
            $decoded[(string) $field] = is_array($value) ? $value : ['state' => 'unreadable'];
        }
        ksort($decoded, SORT_STRING); // the same order in PHP 7 and 8, numbers (int keys) or not
        return $decoded;
    }

    /**
     * Run UNPARK for a campaign ($cancel: the cancel's JSON, '' to resume) with every lane its parked
     * tasks name in KEYS, reading the list again when a task was parked under a new lane in between.
     * How many tasks it moved.
     */
    private function unpark(string $name, string $cancel): int
    {
        $parked = "{$this->prefix}:parked:{$name}";
        do {
            $lanes = [];
            foreach ($this->call("read Redis list {$parked}", fn ($redis) => $redis->lrange($parked, 0, -1)) as $element) {
                $cut = strpos((string) $element, "\n");
                if ($cut !== false && $cut > 0) {
                    $lanes[substr((string) $element, 0, $cut)] = true;
                }
            }
            $lanes = array_map('strval', array_keys($lanes));
            sort($lanes, SORT_STRING);
            $keys = [$this->prefix . ':paused', $parked, $this->queue, "{$this->prefix}:cancel:campaign:{$name}"];
            foreach ($lanes as $lane) {
                $keys[] = "{$this->prefix}:lane:{$lane}";
            }
            $args = ["campaign:{$name}", $cancel, (string) $this->cancelTtl(), ...$lanes];
            $moved = (int) $this->evalScript("move the parked tasks of campaign {$name} back", self::UNPARK, $keys, $args);
        } while ($moved < 0);
        return $moved;
    }

    /**
     * EVAL a script, as each client takes it.
     *
     * @param list<string> $keys
     * @param list<string> $args
     * @return mixed
     */
    private function evalScript(string $what, string $script, array $keys, array $args)
    {
        return $this->call($what, fn ($redis) => $this->predis
            ? $redis->eval($script, count($keys), ...$keys, ...$args)
            : $redis->eval($script, [...$keys, ...$args], count($keys)));
    }

    /**
     * Run one Redis command: an exception of the client, or phpredis's false, becomes an
     * SmsQueueException "cannot <what>: <Redis's error>". Never a silent false: only with
     * $falseIsAnAnswer (phpredis's hSetNx answers false for "it was there") is a false with no
     * error from Redis returned.
     *
     * @return mixed
     */
    private function call(string $what, callable $command, bool $falseIsAnAnswer = false)
    {
        try {
            if (!$this->predis) {
                $this->redis->clearLastError();
            }
            $result = $command($this->redis);
        } catch (\Throwable $e) {
            throw new SmsQueueException("cannot {$what}: " . $e->getMessage(), 0, $e);
        }
        if ($result === false && !$this->predis) {
            $error = $this->redis->getLastError();
            if ($falseIsAnAnswer && $error === null) {
                return false;
            }
            // phpredis ends its last error with a NUL byte; keep it out of the message.
            $error = rtrim((string) $error, "\0\r\n ");
            throw new SmsQueueException("cannot {$what}" . ($error ? ": $error" : ''));
        }
        return $result;
    }

    /** @param list<string> $payloads */
    private function lpush(array $payloads): int
    {
        return (int) $this->call("push to Redis list {$this->queue}", fn ($redis) => $this->predis
            ? $redis->lpush($this->queue, $payloads)
            : $redis->lPush($this->queue, ...$payloads));
    }
}
