<?php
// The seed article's controller, done right: validate the POST, queue the task, and only then answer
// 202 {"success": true, ...}. The seed answered "success" before pushing; a failed push here is a 503.
// Settings from the environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), SMS_QUEUE (sms_queue).

declare(strict_types=1);

require __DIR__ . '/../src/SmsQueueException.php';
require __DIR__ . '/../src/SmsQueue.php';

use SmsWorker\Producer\SmsQueue;

function answer(int $status, bool $success, string $message): void
{
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    echo json_encode(['success' => $success, 'message' => $message], JSON_UNESCAPED_UNICODE);
    exit;
}

if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    answer(405, false, 'POST only');
}
$templateId = $_POST['template_id'] ?? '';
$mobiles = $_POST['mobiles'] ?? [];
$content = $_POST['content'] ?? '';
if (!is_string($templateId) || trim($templateId) === '') {
    answer(400, false, 'template_id is required');
}
if (is_string($mobiles)) {
    $mobiles = preg_split('/[\s,]+/', $mobiles, -1, PREG_SPLIT_NO_EMPTY) ?: [];
}
if (!is_array($mobiles) || $mobiles === []) {
    answer(400, false, 'mobiles[] is required: at least one phone number');
}
foreach ($mobiles as $mobile) {
    if (!is_string($mobile) || !preg_match('/^\+?[0-9][0-9 \-]{4,19}$/', trim($mobile))) {
        answer(400, false, 'not a phone number: ' . (is_string($mobile) ? $mobile : gettype($mobile)));
    }
}
if (!is_string($content) || trim($content) === '') {
    answer(400, false, 'content is required');
}

try {
    $redis = new \Redis();
    if (!@$redis->connect(getenv('REDIS_HOST') ?: '127.0.0.1', (int) (getenv('REDIS_PORT') ?: 6379), 1.0)) {
        throw new \RuntimeException('cannot connect to Redis');
    }
    (new SmsQueue($redis, getenv('SMS_QUEUE') ?: 'sms_queue'))->push(trim($templateId), $mobiles, $content);
} catch (\Throwable $e) {
    error_log('send-sms: ' . $e->getMessage());
    answer(503, false, 'SMS service unavailable, nothing was sent: please try again later');
}
answer(202, true, '请求已接收,短信发送任务已启动');
