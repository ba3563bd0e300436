CREATE TABLE `network_leases` (
	`instance_id` text PRIMARY KEY NOT NULL,
	`mode` text NOT NULL,
	`ip` text,
	`mac` text NOT NULL,
	`tap` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `network_leases_ip` ON `network_leases` (`ip`);--> statement-breakpoint
CREATE UNIQUE INDEX `network_leases_mac` ON `network_leases` (`mac`);--> statement-breakpoint
CREATE UNIQUE INDEX `network_leases_tap` ON `network_leases` (`tap`);--> statement-breakpoint
CREATE TABLE `port_forwards` (
	`host_port` integer PRIMARY KEY NOT NULL,
	`instance_id` text NOT NULL,
	`guest_port` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `port_forwards_instance` ON `port_forwards` (`instance_id`);--> statement-breakpoint
ALTER TABLE `instances` ADD `network` text;