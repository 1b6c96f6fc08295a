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

    /** @var \Redis|\RedisCluster|\Predis\ClientInterface */
    private $redis;
    private string $queue;
    private string $prefix;
    private bool $predis;
    private int $statusTtl;

    /**
     * @param \Redis|\RedisCluster|\Predis\ClientInterface $redis
     * @param int $statusTtl seconds a task's status is kept: smsworker's --receipt-ttl (72 h by default)
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
     * 'params' => array of template variables. Returns the queue length after the push.
     *
     * @param int|string $templateId
     * @param array<int|string, int|string> $mobiles
     * @param array{id?: string|int|bool, params?: array<string, mixed>|null} $options
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
     * @param array{id?: string|int|bool, params?: array<string, mixed>|null} $options
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
        try {
            $result = $this->predis
                ? $this->redis->eval(self::PUSH_WITH_ID, 2, $this->queue, $key, ...$args)
                : $this->redis->eval(self::PUSH_WITH_ID, [$this->queue, $key, ...$args], 2);
        } catch (\Throwable $e) {
            throw new SmsQueueException("cannot push to Redis list {$this->queue}: " . $e->getMessage(), 0, $e);
        }
        if (!is_int($result)) {
            $error = $this->predis ? '' : rtrim((string) $this->redis->getLastError(), "\0\r\n ");
            throw new SmsQueueException("cannot push to Redis list {$this->queue}" . ($error ? ": $error" : ''));
        }
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
        $key = "{$this->prefix}:status:{$id}";
        try {
            $found = $this->predis ? $this->redis->hgetall($key) : $this->redis->hGetAll($key);
        } catch (\Throwable $e) {
            throw new SmsQueueException("cannot read Redis hash {$key}: " . $e->getMessage(), 0, $e);
        }
        if (!is_array($found)) {
            throw new SmsQueueException("cannot read Redis hash {$key}");
        }
        $states = [];
        foreach ($found as $number => $json) {
            $state = json_decode((string) $json, true);
            $states[(string) $number] = is_array($state) ? $state : ['state' => 'unreadable'];
        }
        ksort($states);
        return $states;
    }

    /**
     * Queue many tasks in one round trip (one LPUSH: all or none, in order).
     *
     * @param list<array{template_id: int|string, mobiles: array<int|string, int|string>, content: string,
     *                   id?: string|int|bool, params?: array<string, mixed>|null}> $tasks
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
        try {
            return json_encode($task, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new SmsQueueException('cannot encode the task as JSON: ' . $e->getMessage(), 0, $e);
        }
    }

    /** @param list<string> $payloads */
    private function lpush(array $payloads): int
    {
        try {
            $length = $this->predis
                ? $this->redis->lpush($this->queue, $payloads)
                : $this->redis->lPush($this->queue, ...$payloads);
        } catch (\Throwable $e) {
            throw new SmsQueueException("cannot push to Redis list {$this->queue}: " . $e->getMessage(), 0, $e);
        }
        if (!is_int($length)) {
            // phpredis ends its last error with a NUL byte; keep it out of the message.
            $error = $this->predis ? '' : rtrim((string) $this->redis->getLastError(), "\0\r\n ");
            throw new SmsQueueException("cannot push to Redis list {$this->queue}" . ($error ? ": $error" : ''));
        }
        return $length;
    }
}
