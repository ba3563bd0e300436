CREATE TABLE `forks` (
	`instance_id` text PRIMARY KEY NOT NULL,
	`snapshot_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `forks_snapshot` ON `forks` (`snapshot_id`);--> statement-breakpoint
CREATE TABLE `images` (
	`name` text PRIMARY KEY NOT NULL,
	`kernel` text NOT NULL,
	`initrd` text,
	`rootfs` text,
	`cmdline` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`image` text NOT NULL,
	`hypervisor` text NOT NULL,
	`hypervisor_version` text,
	`vcpus` integer NOT NULL,
	`memory_bytes` integer NOT NULL,
	`overlay_bytes` integer NOT NULL,
	`env` text NOT NULL,
	`tags` text NOT NULL,
	`snapshot_policy` text,
	`skip_guest_agent` integer NOT NULL,
	`pid` integer,
	`row_state` text NOT NULL,
	`state_error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`stopped_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `instances_name` ON `instances` (`name`);--> statement-breakpoint
CREATE INDEX `instances_created` ON `instances` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`key` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`policy` text NOT NULL,
	`dir` text NOT NULL,
	`hypervisor` text NOT NULL,
	`not_before` integer NOT NULL,
	`bytes_done` integer NOT NULL,
	`bytes_total` integer NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `schedules` (
	`instance_id` text PRIMARY KEY NOT NULL,
	`interval_ms` integer NOT NULL,
	`name_prefix` text,
	`metadata` text NOT NULL,
	`max_count` integer NOT NULL,
	`max_age_ms` integer NOT NULL,
	`next_run_at` integer NOT NULL,
	`last_run_at` integer,
	`last_snapshot_id` text,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `snapshots` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`kind` text NOT NULL,
	`tags` text NOT NULL,
	`source_instance_id` text NOT NULL,
	`source_instance_name` text NOT NULL,
	`source_hypervisor` text NOT NULL,
	`source_hypervisor_version` text,
	`stored_metadata` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`compression_state` text NOT NULL,
	`compression` text,
	`compression_error` text,
	`compressed_size_bytes` integer,
	`uncompressed_size_bytes` integer,
	`row_state` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `snapshots_created` ON `snapshots` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `snapshots_source` ON `snapshots` (`source_instance_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `snapshots_source_name` ON `snapshots` (`source_instance_id`,`name`);