<?php
// Driven by tests/integration/test_php_producer.py with real php, phpredis and Predis:
//   php push.php <scenario> <redis port>
// Producer scenarios push tasks; "errors-*" scenarios print one line per refused case.

declare(strict_types=1);

require __DIR__ . '/../src/SmsQueueException.php';
require __DIR__ . '/../src/SmsQueue.php';

use SmsWorker\Producer\SmsQueue;

[, $scenario, $port] = $argv;
$port = (int) $port;

function phpredis(int $port): \Redis
{
    $redis = new \Redis();
    $redis->connect('127.0.0.1', $port);
    return $redis;
}

function predis(int $port): \Predis\Client
{
    require_once 'Predis/Autoloader.php'; // Debian's php-nrk-predis, on the include path
    \Predis\Autoloader::register();
    return new \Predis\Client(['host' => '127.0.0.1', 'port' => $port]);
}

function library(SmsQueue $queue): void
{
    $queue->push(123, ['13800138000', '13800138001'], '测试短信');
    $queue->push('456', [13800138002], 'with an id', ['id' => 'order-1', 'params' => ['code' => '1234']]);
    $queue->push(7, [3 => '13800138003'], '', ['params' => ['code' => '9']]);
    $queue->pushMany([
        ['template_id' => 8, 'mobiles' => ['13800138004'], 'content' => 'many 1', 'id' => true],
        ['template_id' => 8, 'mobiles' => ['13800138005'], 'content' => 'many 2'],
    ]);
}

function seed(\Redis $redis): void
{
    // The article's snippet as PHP apps really run it, with no library at all.
    $redis->lPush('sms_queue', json_encode(['template_id' => 123, 'mobiles' => ['13800138000', '13800138001'], 'content' => 'Test SMS']));
    $redis->lPush('sms_queue', json_encode(['template_id' => 123, 'mobiles' => ['13800138002'], 'content' => '测试短信']));
    $redis->lPush('sms_queue', json_encode(['template_id' => 123, 'mobiles' => ['13800138003'], 'content' => '测试短信'], JSON_UNESCAPED_UNICODE));
    $_POST = ['template_id' => '123', 'mobiles' => ['13800138004'], 'content' => 'from $_POST'];
    $redis->lPush('sms_queue', json_encode(['template_id' => $_POST['template_id'], 'mobiles' => $_POST['mobiles'], 'content' => $_POST['content']]));
    $redis->lPush('sms_queue', json_encode(['template_id' => 123, 'mobiles' => array_unique(['13800138005', '13800138005', '13800138006']), 'content' => 'holes']));
    $redis->lPush('sms_queue', json_encode(['template_id' => 123, 'mobiles' => [13800138007], 'content' => 'integers']));
}

function attempt(string $name, callable $case): void
{
    try {
        $case();
        echo "$name: queued\n";
    } catch (\Throwable $e) {
        echo "$name: " . get_class($e) . ': ' . $e->getMessage() . "\n";
    }
}

function errors(SmsQueue $queue, callable $client, int $port): void
{
    attempt('empty mobiles', fn () => $queue->push(1, [], 'x'));
    attempt('array mobile', fn () => $queue->push(1, [['13800138000']], 'x'));
    attempt('empty content', fn () => $queue->push(1, ['13800138000'], ''));
    attempt('bad template', fn () => $queue->push(1.5, ['13800138000'], 'x'));
    attempt('bad utf-8', fn () => $queue->push(1, ['13800138000'], "\xff\xfe"));
    attempt('not a client', fn () => new SmsQueue(new \stdClass()));
    $client($port)->set('wrong_type', 'a string');
    attempt('wrong type', fn () => (new SmsQueue($client($port), 'wrong_type'))->push(1, ['13800138000'], 'x'));
}

switch ($scenario) {
    case 'library-phpredis':
        library(new SmsQueue(phpredis($port)));
        break;
    case 'library-predis':
        library(new SmsQueue(predis($port)));
        break;
    case 'seed-raw':
        seed(phpredis($port));
        break;
    case 'errors-phpredis':
        errors(new SmsQueue(phpredis($port)), 'phpredis', $port);
        break;
    case 'errors-predis':
        errors(new SmsQueue(predis($port)), 'predis', $port);
        break;
    case 'status-phpredis':
    case 'status-predis':
        // Push with an id and print it; run again with the id as a third argument to print the status.
        $queue = new SmsQueue($scenario === 'status-phpredis' ? phpredis($port) : predis($port));
        if (isset($argv[3])) {
            echo json_encode($queue->status($argv[3]), JSON_UNESCAPED_UNICODE), "\n";
        } else {
            echo $queue->pushWithId(5, ['13800138000', '12345'], 'status please'), "\n";
        }
        break;
    case 'changes-phpredis':
    case 'changes-predis':
        // Print the next status change (smsworker --receipts-list), waiting up to 5 s.
        $queue = new SmsQueue($scenario === 'changes-phpredis' ? phpredis($port) : predis($port));
        echo json_encode($queue->nextChange(5), JSON_UNESCAPED_UNICODE), "\n";
        break;
    case 'wait-phpredis':
    case 'wait-predis':
    case 'timeout-phpredis':
    case 'timeout-predis':
        // nextChange() with its default (wait for a change) or 3 s, run with a short socket timeout.
        $queue = new SmsQueue(str_ends_with($scenario, 'phpredis') ? phpredis($port) : predis($port));
        $change = str_starts_with($scenario, 'wait') ? $queue->nextChange() : $queue->nextChange(3);
        echo json_encode($change, JSON_UNESCAPED_UNICODE), "\n";
        break;
    case 'call-phpredis':
    case 'call-predis':
        // php push.php call-<client> <port> <method> <JSON list of arguments> [<receipt TTL>]: one
        // SmsQueue method, printed as {"result": ...} or {"error": "<class>: <message>"}. An argument
        // (or an option in one) {"datetime": "<time>"} stands for a \DateTimeImmutable of that time.
        $queue = new SmsQueue($scenario === 'call-phpredis' ? phpredis($port) : predis($port), 'sms_queue', (int) ($argv[5] ?? 259200));
        $datetimes = function ($value) use (&$datetimes) {
            if (is_array($value) && array_keys($value) === ['datetime']) {
                return new \DateTimeImmutable($value['datetime']);
            }
            return is_array($value) ? array_map($datetimes, $value) : $value;
        };
        try {
            $result = ['result' => $queue->{$argv[3]}(...$datetimes(json_decode($argv[4], true)))];
        } catch (\Throwable $e) {
            $result = ['error' => get_class($e) . ': ' . $e->getMessage()];
        }
        echo json_encode($result, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION), "\n";
        break;
    case 'redis-down':
        // $port has no Redis. Predis connects lazily, so the failure surfaces in push().
        attempt('predis down', fn () => (new SmsQueue(predis($port)))->push(1, ['13800138000'], 'x'));
        break;
    default:
        fwrite(STDERR, "unknown scenario $scenario\n");
        exit(2);
}
