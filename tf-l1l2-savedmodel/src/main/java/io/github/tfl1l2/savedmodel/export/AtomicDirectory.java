package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Creates a directory all at once: its content is written into a hidden temporary sibling that is
 * renamed into place only when complete, so a failure at any point leaves no partial output.
 */
public final class AtomicDirectory {

  /**
   * Writes the content of a directory that does not exist yet, and returns what it measured.
   *
   * @param <T> what the writer reports
   */
  @FunctionalInterface
  public interface Writer<T> {
    /**
     * Fills {@code directory}.
     *
     * @param directory an empty directory, renamed into place afterwards
     * @return what the writer measured, handed back by {@link AtomicDirectory#create}
     * @throws IOException if a file cannot be written
     */
    T writeInto(Path directory) throws IOException;
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicDirectory() {}

  /**
   * Creates {@code target} with the content {@code writer} puts into an empty directory.
   *
   * @param <T> what {@code writer} reports
   * @param target the directory to create
   * @param writer fills the temporary directory
   * @param argument how the caller names {@code target} in messages, e.g. {@code --out}
   * @return what {@code writer} returned
   * @throws SavedModelException if {@code target} exists, its parent does not, or writing fails; an
   *     unchecked exception of {@code writer} passes unchanged, the temporary removed
   */
  public static <T> T create(Path target, String argument, Writer<T> writer) {
    checkAvailable(target, argument);
    Path absolute = target.toAbsolutePath().normalize();
    Path parent = absolute.getParent();
    Path temporary;
    try {
      temporary = createSibling(parent, temporaryPrefix(absolute));
    } catch (IOException e) {
      throw new SavedModelException(
          argument + " " + target + ": cannot create a directory in " + parent + ": " + e, e);
    }
    boolean moved = false;
    try {
      T result = writer.writeInto(temporary);
      if (exists(absolute)) {
        // rename(2) would silently replace an empty directory created meanwhile.
        throw new FileAlreadyExistsException(absolute.toString());
      }
      Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE);
      moved = true;
      return result;
    } catch (IOException e) {
      throw new SavedModelException(argument + " " + target + ": cannot write: " + e, e);
    } finally {
      if (!moved) {
        deleteRecursively(temporary);
      }
    }
  }

  /**
   * Checks that an export may create {@code target}: nothing exists at that path (a symbolic link
   * counts, even a dangling one) and its parent directory does.
   *
   * @param target the directory an export is to create
   * @param argument how the caller names {@code target} in the message, e.g. {@code --out}
   * @throws SavedModelException naming {@code argument} and {@code target} otherwise
   */
  public static void checkAvailable(Path target, String argument) {
    Objects.requireNonNull(target, "target must not be null");
    Objects.requireNonNull(argument, "argument must not be null");
    if (exists(target)) {
      throw new SavedModelException(
          argument + " " + target + " already exists; give a directory that does not exist yet");
    }
    Path parent = target.toAbsolutePath().normalize().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new SavedModelException(
          argument + " " + target + ": its parent directory " + parent + " does not exist");
    }
  }

  /**
   * The one rule for "already exists": anything at the path, a link not followed.
   *
   * @param path the path to look at
   * @return whether anything, even a dangling symbolic link, is at {@code path}
   */
  public static boolean exists(Path path) {
    return Files.exists(path.toAbsolutePath(), LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Creates an empty directory {@code prefix + random} in {@code parent}. Unlike {@code
   * Files.createTempDirectory} it keeps the permissions the umask gives, which the renamed result
   * should have.
   */
  private static Path createSibling(Path parent, String prefix) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path candidate = parent.resolve(prefix + Long.toHexString(RANDOM.nextLong() >>> 1));
      try {
        return Files.createDirectory(candidate);
      } catch (FileAlreadyExistsException e) {
        if (attempt == 100) {
          throw e;
        }
      }
    }
  }

  /**
   * The hidden temporary siblings that {@link #create} makes for {@code target} and that a process
   * killed while writing leaves behind.
   *
   * @param target the directory an export creates
   * @return the paths, sorted; empty when there are none or the parent cannot be listed
   */
  public static List<Path> temporaries(Path target) {
    Path absolute = target.toAbsolutePath().normalize();
    Path parent = absolute.getParent();
    if (parent == null || absolute.getFileName() == null) {
      return List.of();
    }
    String prefix = temporaryPrefix(absolute);
    try (Stream<Path> entries = Files.list(parent)) {
      return entries.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
    } catch (IOException | UncheckedIOException e) {
      return List.of();
    }
  }

  private static String temporaryPrefix(Path absolute) {
    return "." + absolute.getFileName() + ".tmp-";
  }

  /**
   * Deletes {@code directory} and everything in it without following symbolic links. Best effort: a
   * failure here must not hide the failure that made the caller clean up.
   *
   * @param directory the directory to delete; nothing happens if it does not exist
   */
  public static void deleteRecursively(Path directory) {
    if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException | UncheckedIOException e) {
      // Left behind: a hidden ".NAME.tmp-*" sibling, never the target itself.
    }
  }
}
