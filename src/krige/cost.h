/* cost.h - what kriging one frame costs, in multiply-adds, estimated the
 * way the renderer will really compute it (krige.c): the listener refuses
 * a trigger, and the drain a source row, whose estimate is above
 * --max-job-cost, so one datagram cannot hold a worker for hours.
 *
 * An estimate, not a measure: it counts the loops that dominate, never
 * runs them, and is an upper bound on the cells (the boundary's box, not
 * only its inside). */
#ifndef KD_COST_H
#define KD_COST_H

#include <stddef.h>

struct krige_cost_frame {
	size_t cells;      /* grid cells (width x height of the boundary's box) */
	size_t stations;   /* points of the frame, before repair */
	int variance;      /* 1: the kriging variance grid too */
	size_t neighbours; /* 0: global kriging (every station for every cell);
			    * k > 0: a local neighbourhood of k stations per
			    * cell (each cell solves its own k x k system) */
};

/* Multiply-adds for one frame:
 *   global:  n^2 (sample variogram) + n^3/3 (factorisation)
 *            + cells * n (prediction) + cells * n^2 (variance, if asked);
 *   local k: n^2 + cells * (k^3/3 + k) (+ cells * k^2 for the variance).
 * A double: the product of limits can pass 2^64. */
double krige_cost(const struct krige_cost_frame *f);

#endif
