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

    // Resume or cancel a campaign, and move its parked tasks back to the front (the right end, where
    // workers take from) of their lanes, in one step, so that each parked task is moved exactly once:
    // none is lost between the read and the delete, and none is moved twice by two callers.
    // KEYS[1] {Q}:parked:<name> (list; each element: lane, "\n", the task's bytes; newest on the
    //         left, as workers LPUSH it), KEYS[2] Q, KEYS[3] {Q}:paused (resume) or
    //         {Q}:cancel:campaign:<name> (cancel).
    // ARGV[1] '{Q}:lane:', ARGV[2] 'resume' or 'cancel', ARGV[3] the paused field (resume) or the
    //         cancel's JSON (cancel), ARGV[4] the cancel's TTL in seconds.
    // Returns how many tasks were moved. Lua cannot undo: every list written to is checked to be a
    // list before the first write, so a WRONGTYPE leaves everything as it was.
    private const MOVE_PARKED = <<<'LUA'
local parked = redis.call('LRANGE', KEYS[1], 0, -1)
local targets = {}
for i, entry in ipairs(parked) do
  local cut = string.find(entry, '\n', 1, true)
  local lane, task = '', entry
  if cut then lane, task = string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1) end
  local target = KEYS[2]
  if lane ~= '' then target = ARGV[1] .. lane end
  local kind = redis.call('TYPE', target)['ok']
  if kind ~= 'none' and kind ~= 'list' then
    return redis.error_reply('WRONGTYPE ' .. target .. ' holds a ' .. kind .. ', not a list')
  end
  targets[i] = {target, task}
end
if ARGV[2] == 'resume' then
  redis.call('HDEL', KEYS[3], ARGV[3])
else
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
end
for _, move in ipairs(targets) do redis.call('RPUSH', move[1], move[2]) end
redis.call('DEL', KEYS[1])
return #parked
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
     * it was not paused before (a second pause replaces the first one's time and $by).
     */
    public function pause(?string $lane = null, ?string $provider = null, string $by = 'php'): bool
    {
        $scope = self::scope($lane, $provider);
        return $this->hset($this->prefix . ':paused', $scope, $this->stamp($by)) === 1;
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
     * Cancel the task pushed with $id: workers end each of its recipients not yet sent as
     * `cancelled`, for the receipt TTL. Returns what its status says at this moment, each a list of
     * numbers: 'sent' (with the provider already: a cancel cannot stop them) and 'not_sent' (the
     * rest: those still to send end `cancelled`, those already `dead` or `cancelled` stay so; one
     * a worker is sending at this very moment may still end `sent`). Both are empty for a task
     * pushed without pushWithId(), whose recipients are cancelled all the same.
     *
     * @return array{sent: list<string>, not_sent: list<string>}
     */
    public function cancel(string $id, string $by = 'php'): array
    {
        if (trim($id) === '') {
            throw new \InvalidArgumentException('cancel() needs the id the task was pushed with');
        }
        $this->setWithTtl("{$this->prefix}:cancel:id:{$id}", $this->stamp($by));
        $split = ['sent' => [], 'not_sent' => []];
        foreach ($this->status($id) as $number => $state) {
            $sent = in_array($state['state'] ?? null, self::SENT_STATES, true);
            $split[$sent ? 'sent' : 'not_sent'][] = (string) $number;
        }
        return $split;
    }

    /**
     * Pause one campaign (its tasks that workers take meanwhile wait aside, parked, in
     * {sms_queue}:parked:<name>). True when it was not paused before.
     */
    public function pauseCampaign(string $name, string $by = 'php'): bool
    {
        $field = 'campaign:' . self::campaignName($name);
        return $this->hset($this->prefix . ':paused', $field, $this->stamp($by)) === 1;
    }

    /**
     * Resume a paused campaign and move its parked tasks back to the front of their lanes, in one
     * step. Returns how many tasks were moved back.
     */
    public function resumeCampaign(string $name): int
    {
        $name = self::campaignName($name);
        return $this->moveParked($name, 'resume', "{$this->prefix}:paused", 'campaign:' . $name);
    }

    /**
     * Cancel every task of a campaign, for the receipt TTL: workers end their recipients not yet
     * sent as `cancelled`, those queued, scheduled and parked alike (parked ones are moved back to
     * their lanes, in the same step, so that workers reach them). Returns how many were moved back.
     */
    public function cancelCampaign(string $name, string $by = 'php'): int
    {
        $name = self::campaignName($name);
        return $this->moveParked($name, 'cancel', "{$this->prefix}:cancel:campaign:{$name}", $this->stamp($by));
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
     * The campaign option, checked: 1 to 64 characters of UTF-8, no control characters.
     *
     * @param mixed $campaign
     */
    private static function campaignName($campaign): string
    {
        if (!is_string($campaign) || !preg_match('/^[^\p{Cc}]{1,64}$/uD', $campaign)) {
            throw new \InvalidArgumentException(
                'campaign must be 1 to 64 characters of UTF-8 with no control characters, got '
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
        if ($at - time() > self::MAX_SCHEDULE_AHEAD) {
            throw new \InvalidArgumentException("{$option} is more than 366 days ahead: the worker would dead-letter the task");
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
    private function stamp(string $by): string
    {
        try {
            $stamp = ['at' => round(microtime(true), 3), 'by' => $by];
            return json_encode($stamp, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new SmsQueueException('cannot encode "by" as JSON: ' . $e->getMessage(), 0, $e);
        }
    }

    /** HSET one field; 1 when the field is new, 0 when it replaced one. */
    private function hset(string $key, string $field, string $value): int
    {
        return (int) $this->call("write Redis hash {$key}", fn ($redis) => $this->predis
            ? $redis->hset($key, $field, $value)
            : $redis->hSet($key, $field, $value));
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

    /** SET $key with the receipt TTL. */
    private function setWithTtl(string $key, string $value): void
    {
        $this->call("write Redis key {$key}", fn ($redis) => $this->predis
            ? $redis->set($key, $value, 'EX', $this->statusTtl)
            : $redis->set($key, $value, ['ex' => $this->statusTtl]));
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

    /** Run MOVE_PARKED for a campaign; how many tasks it moved. */
    private function moveParked(string $name, string $mode, string $key, string $value): int
    {
        $keys = ["{$this->prefix}:parked:{$name}", $this->queue, $key];
        $args = ["{$this->prefix}:lane:", $mode, $value, (string) $this->statusTtl];
        return (int) $this->evalScript("move the parked tasks of campaign {$name} back", self::MOVE_PARKED, $keys, $args);
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
     * SmsQueueException "cannot <what>: <Redis's error>". Never a silent false.
     *
     * @return mixed
     */
    private function call(string $what, callable $command)
    {
        try {
            $result = $command($this->redis);
        } catch (\Throwable $e) {
            throw new SmsQueueException("cannot {$what}: " . $e->getMessage(), 0, $e);
        }
        if ($result === false && !$this->predis) {
            // phpredis ends its last error with a NUL byte; keep it out of the message.
            $error = rtrim((string) $this->redis->getLastError(), "\0\r\n ");
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
