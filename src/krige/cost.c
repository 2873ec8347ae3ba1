/* cost.c - see cost.h */
#include "config.h"

#include "cost.h"

double krige_cost(const struct krige_cost_frame *f)
{
	double n = (double)f->stations, cells = (double)f->cells, k = (double)f->neighbours, c;

	c = n * n; /* the sample variogram's pairs, when fitting */
	if (f->neighbours > 0 && f->neighbours < f->stations) {
		c += cells * (k * k * k / 3 + k);
		if (f->variance)
			c += cells * k * k;
		return c;
	}
	c += n * n * n / 3 + cells * n;
	if (f->variance)
		c += cells * n * n; /* one triangular solve per cell (krige_variance) */
	return c;
}
