CREATE TABLE `ingresses` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`tags` text NOT NULL,
	`rules` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ingresses_name` ON `ingresses` (`name`);--> statement-breakpoint
ALTER TABLE `instances` ADD `auto_standby` text;