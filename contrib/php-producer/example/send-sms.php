<?php
// The seed article's controller, done right: validate the POST, queue the task, and only then answer
// 202 {"success": true, ...}. The seed answered "success" before pushing; a failed push here is a 503.
// Settings from the environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), SMS_QUEUE (sms_queue).
//
// Every message is in Chinese, and only in Chinese: this is the example for Chinese-speaking PHP
// developers, its page (index.html) is all Chinese, and the message is shown to the person who
// filled in the form, as it is. Choosing by Accept-Language would add a translation table to an
// example meant to be copied; an app that needs other languages has its own way to translate.
// Log lines (error_log) stay English, like the worker's: they are for whoever greps the logs.

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
    answer(405, false, '只接受 POST 请求');
}
$templateId = $_POST['template_id'] ?? '';
$mobiles = $_POST['mobiles'] ?? [];
$content = $_POST['content'] ?? '';
if (!is_string($templateId) || trim($templateId) === '') {
    answer(400, false, '请填写模板 ID（template_id）');
}
if (is_string($mobiles)) {
    $mobiles = preg_split('/[\s,]+/', $mobiles, -1, PREG_SPLIT_NO_EMPTY) ?: [];
}
if (!is_array($mobiles) || $mobiles === []) {
    answer(400, false, '请至少填写一个手机号（mobiles[]）');
}
foreach ($mobiles as $mobile) {
    if (!is_string($mobile) || !preg_match('/^\+?[0-9][0-9 \-]{4,19}$/', trim($mobile))) {
        answer(400, false, '手机号格式不正确：' . (is_string($mobile) ? $mobile : gettype($mobile)));
    }
}
if (!is_string($content) || trim($content) === '') {
    answer(400, false, '请填写短信内容（content）');
}

try {
    $redis = new \Redis();
    if (!@$redis->connect(getenv('REDIS_HOST') ?: '127.0.0.1', (int) (getenv('REDIS_PORT') ?: 6379), 1.0)) {
        throw new \RuntimeException('cannot connect to Redis');
    }
    (new SmsQueue($redis, getenv('SMS_QUEUE') ?: 'sms_queue'))->push(trim($templateId), $mobiles, $content);
} catch (\Throwable $e) {
    error_log('send-sms: ' . $e->getMessage());
    answer(503, false, '短信服务暂时不可用，本次没有发送任何短信，请稍后重试');
}
answer(202, true, '已加入发送队列，短信将在后台发出');
