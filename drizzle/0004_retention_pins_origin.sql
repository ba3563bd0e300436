ALTER TABLE `schedules` ADD `cron` text;--> statement-breakpoint
ALTER TABLE `schedules` ADD `timezone` text;--> statement-breakpoint
ALTER TABLE `schedules` ADD `keep` text;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `origin` text DEFAULT 'manual' NOT NULL;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `schedule_id` text;--> statement-breakpoint
ALTER TABLE `snapshots` ADD `pinned` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- Before this migration only tags (which clients can set) marked scheduled snapshots; the one snapshot a
-- schedule recorded as its last run is the only one provably made by it. Every other row stays manual.
UPDATE `snapshots` SET `origin` = 'schedule', `schedule_id` = (SELECT `instance_id` FROM `schedules` WHERE `schedules`.`last_snapshot_id` = `snapshots`.`id`) WHERE `id` IN (SELECT `last_snapshot_id` FROM `schedules` WHERE `last_snapshot_id` IS NOT NULL);
