import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.TimeZone;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.quartz.CronExpression;

/**
 * The judge of headwater's cron evaluator: what the real Quartz (org.quartz.CronExpression,
 * 2.3.2 as Debian packages it) says, one JSON object per line on standard output.
 *
 * <pre>
 * QuartzOracle cases  &lt; cases.tsv     # id TAB expression TAB zone id TAB after (epoch ms) TAB count
 *                                      # (a tab inside an expression is written \t)
 * QuartzOracle zones INSTANT_MS...  &lt; ids.txt   # every id Java knows, plus the ids read
 * </pre>
 *
 * For a case: the fire times Quartz computes one after the other from `after` with
 * getNextValidTimeAfter (epoch milliseconds), or the ParseException's message and offset, or
 * "hung" when one computation took longer than two seconds (Quartz loops forever on a few
 * expressions). For a zone id: the id Java resolves it to, whether Java knows it (an unknown id
 * silently becomes GMT) and its UTC offsets at the given instants.
 *
 * Standard library only (no JSON library): the strings are escaped by hand.
 */
public final class QuartzOracle {
    private static final long HANG_SECONDS = 2;

    private QuartzOracle() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (args.length >= 1 && args[0].equals("cases")) {
            cases(in);
        } else if (args.length >= 1 && args[0].equals("zones")) {
            zones(in, Arrays.copyOfRange(args, 1, args.length));
        } else {
            System.err.println("usage: QuartzOracle cases < cases.tsv | zones INSTANT_MS... < ids.txt");
            System.exit(2);
        }
        System.out.flush();
        System.exit(0); // a hung computation keeps its (daemon) thread busy: do not wait for it
    }

    private static void cases(BufferedReader in) throws Exception {
        ExecutorService pool = newPool();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\t", -1);
            String id = parts[0];
            String expression = parts[1].replace("\\t", "\t"); // a tab in an expression
            TimeZone zone = TimeZone.getTimeZone(parts[2]);
            long after = Long.parseLong(parts[3]);
            int count = Integer.parseInt(parts[4]);
            StringBuilder out = new StringBuilder("{\"id\":").append(quote(id));
            CronExpression cron;
            try {
                cron = new CronExpression(expression);
            } catch (ParseException error) {
                out.append(",\"error\":").append(quote(error.getMessage()));
                out.append(",\"error_offset\":").append(error.getErrorOffset()).append('}');
                System.out.println(out);
                continue;
            }
            cron.setTimeZone(zone);
            Future<List<Long>> future = pool.submit(() -> fireTimes(cron, after, count));
            try {
                List<Long> times = future.get(HANG_SECONDS, TimeUnit.SECONDS);
                out.append(",\"fire_times\":").append(times);
            } catch (TimeoutException hung) {
                future.cancel(true);
                pool.shutdownNow();
                pool = newPool();
                out.append(",\"hung\":true");
            } catch (java.util.concurrent.ExecutionException failed) {
                out.append(",\"runtime_error\":").append(quote(failed.getCause().toString()));
            }
            System.out.println(out.append('}'));
        }
    }

    private static List<Long> fireTimes(CronExpression cron, long after, int count) {
        List<Long> times = new ArrayList<>();
        Date current = new Date(after);
        while (times.size() < count) {
            current = cron.getNextValidTimeAfter(current);
            if (current == null) {
                break;
            }
            times.add(current.getTime());
        }
        return times;
    }

    private static void zones(BufferedReader in, String[] instants) throws Exception {
        TreeSet<String> ids = new TreeSet<>(Arrays.asList(TimeZone.getAvailableIDs()));
        List<String> extra = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            if (!line.isEmpty()) {
                extra.add(line);
            }
        }
        for (String id : ids) {
            System.out.println(zone(id, true, instants));
        }
        for (String id : extra) {
            TimeZone resolved = TimeZone.getTimeZone(id);
            boolean known = ids.contains(id) || !resolved.getID().equals("GMT") || id.equals("GMT");
            System.out.println(zone(id, known, instants));
        }
    }

    private static String zone(String id, boolean known, String[] instants) {
        TimeZone zone = TimeZone.getTimeZone(id);
        StringBuilder out = new StringBuilder("{\"id\":").append(quote(id));
        out.append(",\"java_id\":").append(quote(zone.getID()));
        out.append(",\"known\":").append(known).append(",\"offsets\":[");
        for (int i = 0; i < instants.length; i++) {
            out.append(i == 0 ? "" : ",").append(zone.getOffset(Long.parseLong(instants[i])) / 1000);
        }
        return out.append("]}").toString();
    }

    private static ExecutorService newPool() {
        return Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task);
            thread.setDaemon(true);
            return thread;
        });
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
