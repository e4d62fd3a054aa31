/* A tiny native library with the kinds of strings appvet looks for in real apps' .so files. */
#include <math.h>
#include <stdio.h>

static const char endpoint[] = "https://api.example-telemetry.cn/v2/collect?device=";
static const char greeting[] = "北京欢迎你 welcome";
char mutable_url[] = "http://config.example.org/settings.json";
const char *const mirrors[] = {"mirror-one.example.net", "mirror-two.example.net"};

const char *probe_endpoint(void)
{
    return endpoint;
}

const char *probe_mirror(int i)
{
    return mirrors[i & 1];
}

double probe_distance(double x, double y)
{
    return sqrt(x * x + y * y);
}

void probe_report(const char *imei)
{
    printf("imei=%s greeting=%s url=%s\n", imei, greeting, mutable_url);
}
