/* test_png.c - HJ 633-2012 levels and colours, the ramp, PNG written through
 * an outfile and read back with libpng, and the outfile/outdir guarantees. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "outfile.h"
#include "palette.h"
#include "pngout.h"
#include "tap.h"

/* HJ 633-2012 Table 1 (IAQI breakpoints), typed in from the standard; the
 * level-5 bound of 1-h SO2 is its 24-h breakpoint (the 1-h row ends at 800). */
static const struct {
	const char *name;
	double bound[5];
} hj633[] = {
	{ "aqi", { 50, 100, 150, 200, 300 } },
	{ "pm25", { 35, 75, 115, 150, 250 } },
	{ "pm10", { 50, 150, 250, 350, 420 } },
	{ "so2", { 150, 500, 650, 800, 1600 } },
	{ "no2", { 100, 200, 700, 1200, 2340 } },
	{ "co", { 5, 10, 35, 60, 90 } },
	{ "o3", { 160, 200, 300, 400, 800 } },
	{ "so2_24h", { 50, 150, 475, 800, 1600 } },
	{ "no2_24h", { 40, 80, 180, 280, 565 } },
	{ "co_24h", { 2, 4, 14, 24, 36 } },
	{ "o3_8h", { 100, 160, 215, 265, 800 } },
};

/* The six colours of HJ 633-2012 section 5, levels 1..6. */
static const unsigned char colours[6][3] = {
	{ 0, 228, 0 }, { 255, 255, 0 }, { 255, 126, 0 }, { 255, 0, 0 }, { 153, 0, 76 }, { 126, 0, 35 },
};

static int is_colour(const unsigned char rgba[4], int level)
{
	return rgba[0] == colours[level - 1][0] && rgba[1] == colours[level - 1][1] &&
	       rgba[2] == colours[level - 1][2] && rgba[3] == 255;
}

static int is_rgb(const unsigned char rgba[4], int r, int g, int b)
{
	return rgba[0] == r && rgba[1] == g && rgba[2] == b && rgba[3] == 255;
}

static void test_levels(void)
{
	struct palette p;
	unsigned char px[4];
	size_t i;
	int l;

	for (i = 0; i < sizeof(hj633) / sizeof(hj633[0]); i++) {
		int ok = palette_init(&p, hj633[i].name, 0, 1) == 1 && palette_is_levels(&p);

		for (l = 1; l <= 5; l++) {
			double b = hj633[i].bound[l - 1];

			ok &= palette_level(&p, b) == l;                       /* at the bound: this level */
			ok &= palette_level(&p, nextafter(b, INFINITY)) == l + 1; /* just above: the next */
			ok &= palette_level(&p, b - 0.5) == l;
			palette_rgba(&p, b, px);
			ok &= is_colour(px, l);
			palette_rgba(&p, b + 0.5, px);
			ok &= is_colour(px, l + 1);
		}
		ok &= palette_level(&p, -1) == 1 && palette_level(&p, -1e9) == 1 && palette_level(&p, 0) == 1;
		ok &= palette_level(&p, 1e9) == 6 && palette_level(&p, INFINITY) == 6;
		palette_rgba(&p, -3, px);
		ok &= is_colour(px, 1);
		tap_ok(ok, "%s: bounds %g %g %g %g %g inclusive, below zero level 1, colours", hj633[i].name,
		       hj633[i].bound[0], hj633[i].bound[1], hj633[i].bound[2], hj633[i].bound[3], hj633[i].bound[4]);
	}
	tap_ok(palette_init(&p, "PM25", 0, 0) == 1 && palette_level(&p, 35) == 1 && palette_level(&p, 36) == 2,
	       "index names match without case");
	tap_ok(palette_init(&p, "pm2.5", 0, 0) == 1 && palette_level(&p, 250.5) == 6, "pm2.5 means pm25");
	palette_rgba(&p, NAN, px);
	tap_ok(px[0] == 0 && px[1] == 0 && px[2] == 0 && px[3] == 0 && palette_level(&p, NAN) == 0,
	       "NaN is fully transparent");
}

static void test_ramp(void)
{
	struct palette p;
	unsigned char px[4];
	double v[6] = { NAN, 3, -2, INFINITY, 7, NAN }, lo, hi;
	unsigned char buf[24];
	int ok;

	tap_ok(palette_init(&p, "humidity", 10, 20) == 0 && !palette_is_levels(&p) && palette_level(&p, 15) == 0,
	       "an unknown index gets a ramp, no levels");
	/* matplotlib's viridis: #440154 at min, #fde725 at max; entry 51 of 256
	 * is (0.253935, 0.265254, 0.529983), entries 127 and 128 are
	 * (0.128729, 0.563265, 0.551229) and (0.127568, 0.566949, 0.550556). */
	palette_rgba(&p, 10, px);
	ok = is_rgb(px, 0x44, 0x01, 0x54);
	palette_rgba(&p, 5, px);
	ok &= is_rgb(px, 0x44, 0x01, 0x54);
	palette_rgba(&p, 20, px);
	ok &= is_rgb(px, 0xfd, 0xe7, 0x25);
	palette_rgba(&p, 99, px);
	ok &= is_rgb(px, 0xfd, 0xe7, 0x25);
	tap_ok(ok, "the ramp runs from viridis' first colour at min to its last at max, clamped");
	palette_rgba(&p, 12, px);
	tap_ok(is_rgb(px, 65, 68, 135), "a fifth of the way is entry 51: (65,68,135) got (%d,%d,%d)", px[0], px[1],
	       px[2]);
	palette_rgba(&p, 15, px);
	tap_ok(px[0] == 33 && px[1] >= 144 && px[1] <= 145 && px[2] >= 140 && px[2] <= 141 && px[3] == 255,
	       "halfway lies between entries 127 (33,144,141) and 128 (33,145,140): got (%d,%d,%d,%d)", px[0], px[1],
	       px[2], px[3]);
	palette_init(&p, NULL, 4, 4);
	palette_rgba(&p, 4, px);
	tap_ok(is_rgb(px, 0x44, 0x01, 0x54), "constant data: the first colour");
	palette_init(&p, "x", NAN, NAN);
	palette_rgba(&p, 4, px);
	tap_ok(is_rgb(px, 0x44, 0x01, 0x54), "no range at all: the first colour");

	palette_range(v, 6, &lo, &hi);
	tap_ok(lo == -2 && hi == 7, "range of the finite values (%g..%g)", lo, hi);
	palette_range(v, 1, &lo, &hi);
	tap_ok(isnan(lo) && isnan(hi), "range of no finite value is NaN");
	palette_init(&p, "pm25", 0, 0);
	memset(buf, 7, sizeof(buf));
	palette_fill(&p, v, 6, buf);
	tap_ok(memcmp(buf, "\0\0\0\0", 4) == 0 && memcmp(buf + 20, "\0\0\0\0", 4) == 0 && is_colour(buf + 4, 1) &&
	       is_colour(buf + 12, 6), "fill: NaN transparent, values opaque in their level's colour");
}

static unsigned mode_of(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffff;
}

/* Names in dirfd other than "." and ".."; names[] gets up to 8 of them. */
static int list(int dirfd, char names[][256])
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY), n = 0;
	DIR *d = fdopendir(fd);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(names[n < 8 ? n : 7], 256, "%s", de->d_name), n++;
	if (d)
		closedir(d);
	return n;
}

static void test_png(int dirfd, const char *dir)
{
	const int w = 1000, h = 800;
	unsigned char *img = malloc((size_t)w * h * 4), *back = NULL, head[26];
	struct outfile f = OUTFILE_INIT;
	struct error e;
	unsigned seed = 7;
	char path[4200];
	int rw, rh, rc, fd;
	size_t i;
	FILE *fp;

	/* Flat colour areas like a heat map, a transparent outside, and noise
	 * in every channel (straight alpha must come back unchanged too). */
	for (i = 0; i < (size_t)w * h; i++) {
		int x = (int)(i % w), y = (int)(i / w);

		if ((x - 500) * (x - 500) + (y - 400) * (y - 400) > 390 * 390) {
			memset(img + 4 * i, 0, 4);
		} else if (y < 100) {
			img[4 * i] = (unsigned char)rand_r(&seed);
			img[4 * i + 1] = (unsigned char)rand_r(&seed);
			img[4 * i + 2] = (unsigned char)rand_r(&seed);
			img[4 * i + 3] = (unsigned char)rand_r(&seed);
		} else {
			memcpy(img + 4 * i, colours[(x / 170 + y / 133) % 6], 3);
			img[4 * i + 3] = 255;
		}
	}
	rc = outfile_open(&f, dirfd, "map.png", &e);
	if (rc == 0)
		rc = pngout_write(f.fp, img, w, h, &e);
	if (rc == 0)
		rc = outfile_commit(&f, &e);
	else
		outfile_abort(&f);
	tap_ok(rc == 0, "1000 x 800 PNG written through an outfile%s%s", rc ? ": " : "", rc ? e.msg : "");
	snprintf(path, sizeof(path), "%s/map.png", dir);
	rc = pngout_read(path, &back, &rw, &rh, &e);
	tap_ok(rc == 0 && rw == w && rh == h, "read back with libpng: %d x %d", rw, rh);
	tap_ok(back && memcmp(back, img, (size_t)w * h * 4) == 0, "every pixel the same");
	free(back);
	fd = open(path, O_RDONLY);
	rc = fd >= 0 && read(fd, head, sizeof(head)) == (ssize_t)sizeof(head);
	close(fd);
	/* Signature, IHDR: width, height, bit depth 8, colour type 6 (RGBA). */
	tap_ok(rc && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(head + 12, "IHDR", 4) == 0 &&
	       head[16] == 0 && head[17] == 0 && head[18] == 0x03 && head[19] == 0xe8 && head[22] == 0x03 &&
	       head[23] == 0x20 && head[24] == 8 && head[25] == 6, "an 8-bit RGBA PNG, 1000 x 800");
	tap_ok(mode_of(dirfd, "map.png") == 0644, "the file is 0644 under umask 077 (%o)", mode_of(dirfd, "map.png"));

	rc = pngout_read("/nonexistent/x.png", &back, &rw, &rh, &e);
	tap_ok(rc != 0 && back == NULL, "reading a missing file fails: %s", e.msg);
	tap_ok(pngout_write(stdout, img, 0, 5, &e) == KD_EINPUT, "a 0-pixel-wide image is refused: %s", e.msg);

	/* A full disk: libpng's write fails and longjmps; no leak, KD_EIO. */
	fp = fopen("/dev/full", "w");
	if (fp) {
		setvbuf(fp, NULL, _IONBF, 0);
		rc = pngout_write(fp, img, w, h, &e);
		tap_ok(rc == KD_EIO && strstr(e.msg, "writing PNG") && strstr(e.msg, "No space left"),
		       "a full disk: %s", e.msg);
		fclose(fp);
	} else {
		printf("ok %d - a full disk # SKIP no /dev/full\n", ++tap_n);
	}
	free(img);
}

static void test_outfile(int dirfd, const char *dir)
{
	struct outfile f = OUTFILE_INIT;
	struct error e;
	char names[8][256], path[4200], big[65536], buf[64];
	int sub, rc, n, fd, full;
	ssize_t got;

	tap_ok(outfile_name_ok("2024-01-01T08_00_00.png") && outfile_name_ok(".hidden") && outfile_name_ok("a b"),
	       "plain names are fine");
	tap_ok(!outfile_name_ok("") && !outfile_name_ok(".") && !outfile_name_ok("..") && !outfile_name_ok("a/b") &&
	       !outfile_name_ok("/a") && !outfile_name_ok("a\nb") && !outfile_name_ok("a\x7f") &&
	       !outfile_name_ok(NULL), "empty, dot, dot-dot, slash, control characters refused");
	memset(big, 'a', 300);
	big[256] = '\0';
	tap_ok(!outfile_name_ok(big) && (big[255] = '\0', outfile_name_ok(big)), "256 bytes refused, 255 fine");
	tap_ok(outfile_open(&f, dirfd, "../x", &e) == KD_EINPUT && f.fp == NULL, "outfile_open checks: %s", e.msg);

	/* Directories: created 0755 under umask 077, parents too. */
	snprintf(path, sizeof(path), "%s/out/pm25/42", dir);
	sub = outdir_open(AT_FDCWD, path, 1, &e);
	tap_ok(sub >= 0, "outdir_open creates out/pm25/42 from an absolute path%s%s", sub < 0 ? ": " : "",
	       sub < 0 ? e.msg : "");
	tap_ok(mode_of(dirfd, "out") == 0755 && mode_of(dirfd, "out/pm25") == 0755 &&
	       mode_of(dirfd, "out/pm25/42") == 0755, "new directories are 0755 (%o)", mode_of(dirfd, "out/pm25/42"));
	rc = outdir_open(dirfd, "./out/pm25/", 0, &e);
	tap_ok(rc >= 0, "an existing path, relative, with . and a trailing slash, create off");
	if (rc >= 0)
		close(rc);
	tap_ok(outdir_open(dirfd, "out/missing", 0, &e) == KD_EIO && strstr(e.msg, "out/missing"),
	       "missing without create: %s", e.msg);
	tap_ok(outdir_open(dirfd, "out/../x", 1, &e) == KD_EINPUT && strstr(e.msg, ".."), "'..' refused: %s", e.msg);
	tap_ok(outdir_open(dirfd, "out//x", 1, &e) == KD_EINPUT && strstr(e.msg, "empty"),
	       "empty component refused: %s", e.msg);
	tap_ok(outdir_open(dirfd, "", 1, &e) == KD_EINPUT, "empty path refused");
	tap_ok(faccessat(dirfd, "x", F_OK, 0) != 0, "nothing was created by refused paths");

	/* Symbolic links are never followed, wherever they are in the path. */
	rc = mkdirat(dirfd, "real", 0755) | symlinkat("real", dirfd, "link");
	tap_ok(rc == 0, "set up a link to a directory");
	rc = outdir_open(dirfd, "link/sub", 1, &e);
	tap_ok(rc == KD_EIO && strstr(e.msg, "symbolic link") && faccessat(dirfd, "real/sub", F_OK, 0) != 0,
	       "a link in the middle is refused: %s", e.msg);
	snprintf(path, sizeof(path), "%s/link", dir);
	tap_ok(outdir_open(AT_FDCWD, path, 0, &e) == KD_EIO, "a link at the end is refused: %s", e.msg);

	/* Commit: visible under the final name only, replacing the old file. */
	if (sub < 0)
		return;
	rc = outfile_open(&f, sub, "a.txt", &e);
	fputs("first\n", f.fp);
	n = list(sub, names);
	tap_ok(rc == 0 && n == 1 && strncmp(names[0], OUTFILE_TMP_PREFIX, strlen(OUTFILE_TMP_PREFIX)) == 0,
	       "while writing only a temporary name exists (%s)", n ? names[0] : "-");
	rc = outfile_commit(&f, &e);
	n = list(sub, names);
	tap_ok(rc == 0 && f.fp == NULL && n == 1 && strcmp(names[0], "a.txt") == 0, "after commit only a.txt");
	tap_ok(mode_of(sub, "a.txt") == 0644, "committed file is 0644 (%o)", mode_of(sub, "a.txt"));
	outfile_open(&f, sub, "a.txt", &e);
	fputs("second\n", f.fp);
	rc = outfile_commit(&f, &e);
	fd = openat(sub, "a.txt", O_RDONLY);
	got = read(fd, buf, sizeof(buf));
	close(fd);
	tap_ok(rc == 0 && got == 7 && memcmp(buf, "second\n", 7) == 0, "a second commit replaces the file");
	tap_ok(outdir_sync(sub, &e) == 0, "outdir_sync");

	/* Abort removes the temporary file, also twice, also unopened. */
	outfile_open(&f, sub, "b.txt", &e);
	fputs("never\n", f.fp);
	outfile_abort(&f);
	outfile_abort(&f);
	{
		struct outfile g = OUTFILE_INIT;

		outfile_abort(&g);
	}
	n = list(sub, names);
	tap_ok(n == 1 && strcmp(names[0], "a.txt") == 0, "abort leaves no temporary file (%d names)", n);

	/* A full disk at commit time: KD_EIO naming the file and ENOSPC, and
	 * neither the temporary nor the final name is left. */
	full = open("/dev/full", O_WRONLY);
	if (full >= 0 && outfile_open(&f, sub, "c.png", &e) == 0) {
		dup2(full, f.sink->fd); /* the temporary file now writes to a full disk */
		memset(big, 'x', sizeof(big));
		fwrite(big, 1, sizeof(big), f.fp);
		rc = outfile_commit(&f, &e);
		n = list(sub, names);
		tap_ok(rc == KD_EIO && strstr(e.msg, "c.png") && strstr(e.msg, "No space left"), "ENOSPC: %s", e.msg);
		tap_ok(n == 1 && strcmp(names[0], "a.txt") == 0 && f.fp == NULL, "ENOSPC leaves nothing behind");
	} else {
		printf("ok %d - ENOSPC # SKIP no /dev/full\n", ++tap_n);
	}
	if (full >= 0)
		close(full);

	/* The final name is a link planted to redirect the write: rename
	 * replaces the link itself, its target is untouched. */
	fd = openat(dirfd, "victim", O_WRONLY | O_CREAT, 0600);
	rc = write(fd, "keep", 4) == 4;
	close(fd);
	snprintf(path, sizeof(path), "%s/victim", dir);
	rc &= symlinkat(path, sub, "d.png") == 0;
	rc &= outfile_open(&f, sub, "d.png", &e) == 0;
	if (rc) {
		struct stat st;

		fputs("new", f.fp);
		rc = outfile_commit(&f, &e) == 0;
		fd = openat(dirfd, "victim", O_RDONLY);
		got = read(fd, buf, sizeof(buf));
		close(fd);
		rc &= got == 4 && memcmp(buf, "keep", 4) == 0;
		rc &= fstatat(sub, "d.png", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	}
	tap_ok(rc, "a link at the final name is replaced, its target untouched");
	close(sub);
}

int main(void)
{
	char dir[] = "/tmp/test_png.XXXXXX", cmd[4200];
	int dirfd;

	test_levels();
	test_ramp();
	umask(077); /* modes must not depend on it */
	if (!mkdtemp(dir) || (dirfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0) {
		tap_ok(0, "scratch directory: %s", strerror(errno));
		return tap_done();
	}
	test_png(dirfd, dir);
	test_outfile(dirfd, dir);
	close(dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
