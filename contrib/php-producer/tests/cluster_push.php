<?php
// Driven by tests/integration/test_cluster.py with real php against a real Redis Cluster:
//   php cluster_push.php phpredis|predis <port,port,...>
// Pushes one task the way the seed article does (a bare lPush) and one with SmsQueue::pushWithId,
// through the client's own cluster mode: nothing in the app changes for a cluster.

declare(strict_types=1);

require __DIR__ . '/../src/SmsQueueException.php';
require __DIR__ . '/../src/SmsQueue.php';

use SmsWorker\Producer\SmsQueue;

[, $kind, $ports] = $argv;
$seeds = array_map(fn (string $port): string => "127.0.0.1:$port", explode(',', $ports));

if ($kind === 'phpredis') {
    $redis = new \RedisCluster(null, $seeds, 5.0, 5.0);
    $redis->lPush('sms_queue', json_encode(['template_id' => 1, 'mobiles' => ['13800138008'], 'content' => 'x']));
} else {
    require_once 'Predis/Autoloader.php'; // Debian's php-nrk-predis, on the include path
    \Predis\Autoloader::register();
    $redis = new \Predis\Client(array_map(fn (string $seed): string => "tcp://$seed", $seeds), ['cluster' => 'redis']);
    $redis->lpush('sms_queue', [json_encode(['template_id' => 1, 'mobiles' => ['13800138008'], 'content' => 'x'])]);
}
$queue = new SmsQueue($redis);
echo $queue->pushWithId(1, ['13800138009'], 'x', ['id' => 'order-9']), "\n";
