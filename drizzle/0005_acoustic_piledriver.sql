CREATE TABLE `transfer_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`snapshot_id` text NOT NULL,
	`remote` text NOT NULL,
	`state` text NOT NULL,
	`bytes_done` integer NOT NULL,
	`bytes_total` integer NOT NULL,
	`chunks_done` integer NOT NULL,
	`chunks_total` integer NOT NULL,
	`bytes_transferred` integer NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `transfer_jobs_snapshot` ON `transfer_jobs` (`snapshot_id`,`kind`);