<?php

declare(strict_types=1);

namespace SmsWorker\Producer;

/** Redis or JSON encoding failed: the task was NOT queued. Never a silent false. */
final class SmsQueueException extends \RuntimeException
{
}
