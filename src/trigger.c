/* trigger.c - see trigger.h (being written) */
