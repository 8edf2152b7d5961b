// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest out-of-tree module: proves that kernel-dev.tar is enough to
 * build a module that the matching kernel accepts.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init hello_world_init(void)
{
	pr_info("Hello LinuxKit\n");
	return 0;
}

static void __exit hello_world_exit(void)
{
	pr_info("Goodbye LinuxKit\n");
}

module_init(hello_world_init);
module_exit(hello_world_exit);

MODULE_DESCRIPTION("Hello LinuxKit: an out-of-tree module built against kernel-dev.tar");
MODULE_LICENSE("GPL");
