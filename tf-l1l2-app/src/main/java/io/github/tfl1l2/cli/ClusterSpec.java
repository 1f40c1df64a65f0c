package io.github.tfl1l2.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.proto.ClusterDef;
import org.tensorflow.proto.JobDef;

/**
 * The cluster of {@code tf-l1l2 server}: jobs and their task addresses, from {@code --cluster
 * JOB=HOST:PORT[,HOST:PORT...]} values; task {@code i} of a job is its {@code i}-th address. Every
 * check names the option, the value and what is allowed.
 */
final class ClusterSpec {
  /** TensorFlow's rule for job names (a device name's {@code /job:} part). */
  private static final Pattern JOB = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

  private static final Pattern ADDRESS =
      Pattern.compile(
          "(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})");
  static final String FORM = "JOB=HOST:PORT[,HOST:PORT...], e.g. ps=127.0.0.1:2222,127.0.0.1:2223";

  private final Map<String, List<String>> jobs;

  private ClusterSpec(Map<String, List<String>> jobs) {
    this.jobs = jobs;
  }

  /** Parses the values of {@code --cluster}, one job each. */
  static ClusterSpec parse(List<String> values) {
    if (values == null || values.isEmpty()) {
      throw CommandFailure.usage("--cluster is required: " + FORM);
    }
    Map<String, List<String>> jobs = new LinkedHashMap<>();
    Map<String, String> owners = new HashMap<>();
    for (String value : values) {
      int equals = value.indexOf('=');
      if (equals < 0) {
        throw CommandFailure.usage("--cluster '" + value + "' has no '=': expected " + FORM);
      }
      String job = value.substring(0, equals);
      if (!JOB.matcher(job).matches()) {
        throw CommandFailure.usage(
            "--cluster '"
                + value
                + "': job name '"
                + job
                + "' must be a letter followed by letters, digits or '_'");
      }
      if (jobs.containsKey(job)) {
        throw CommandFailure.usage(
            "--cluster '"
                + value
                + "': job '"
                + job
                + "' is given twice; give each job once with all its tasks");
      }
      List<String> addresses = new ArrayList<>();
      for (String address : value.substring(equals + 1).split(",", -1)) {
        checkAddress(value, address);
        String other = owners.putIfAbsent(address, job + " task " + addresses.size());
        if (other != null) {
          throw CommandFailure.usage(
              "--cluster '"
                  + value
                  + "': address "
                  + address
                  + " is already "
                  + other
                  + "; every task needs its own port");
        }
        addresses.add(address);
      }
      jobs.put(job, List.copyOf(addresses));
    }
    return new ClusterSpec(jobs);
  }

  private static void checkAddress(String value, String address) {
    Matcher matcher = ADDRESS.matcher(address);
    if (!matcher.matches()) {
      throw CommandFailure.usage(
          "--cluster '" + value + "': '" + address + "' is not HOST:PORT; expected " + FORM);
    }
    int port = Integer.parseInt(matcher.group(3));
    if (port < 1 || port > 65535) {
      throw CommandFailure.usage(
          "--cluster '" + value + "': port " + port + " of '" + address + "' must be in 1..65535");
    }
  }

  /** The address of task {@code task} of {@code job}, after checking that the task exists. */
  String address(String job, int task) {
    List<String> addresses = jobs.get(job);
    if (addresses == null) {
      throw CommandFailure.usage(
          "--job '"
              + job
              + "' is not a job of --cluster; the jobs are "
              + String.join(", ", jobs.keySet()));
    }
    if (task < 0 || task >= addresses.size()) {
      throw CommandFailure.usage(
          "--task "
              + task
              + " is out of range: job '"
              + job
              + "' has "
              + addresses.size()
              + (addresses.size() == 1
                  ? " task (0)"
                  : " tasks (0.." + (addresses.size() - 1) + ")"));
    }
    return addresses.get(task);
  }

  /** TensorFlow's form of the cluster. */
  ClusterDef toClusterDef() {
    ClusterDef.Builder cluster = ClusterDef.newBuilder();
    jobs.forEach(
        (job, addresses) -> {
          JobDef.Builder def = JobDef.newBuilder().setName(job);
          for (int task = 0; task < addresses.size(); task++) {
            def.putTasks(task, addresses.get(task));
          }
          cluster.addJob(def);
        });
    return cluster.build();
  }
}
