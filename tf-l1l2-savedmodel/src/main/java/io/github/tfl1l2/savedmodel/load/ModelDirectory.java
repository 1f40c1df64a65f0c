package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.EnumSet;

/**
 * Checks a SavedModel directory's files before TensorFlow opens them, so that what would make the
 * native loader block, skip the variables silently, or fail with a message about some inner path is
 * refused with one line naming the entry instead.
 *
 * <p>Refused: a path that is missing or not a directory; symbolic links that lead nowhere or back
 * to a directory that contains them (loops); entries that are neither regular files nor directories
 * (a FIFO blocks whoever opens it for reading until a writer comes, possibly forever); entries that
 * cannot be read; a graph with variables but no {@code variables/variables.index} (TensorFlow would
 * then load the model with its variables uninitialized).
 */
public final class ModelDirectory {
  private static final String INDEX = "variables/variables.index";

  private ModelDirectory() {}

  /**
   * Checks {@code directory} and everything under it, following symbolic links.
   *
   * @param directory the SavedModel directory
   * @throws SavedModelException naming the first entry that cannot be used
   */
  public static void checkFiles(Path directory) {
    if (!Files.exists(directory)) {
      throw new SavedModelException(
          directory + (Files.isSymbolicLink(directory) ? " " + DANGLING : ": no such directory"));
    }
    if (!Files.isDirectory(directory)) {
      throw new SavedModelException(directory + " is not a directory");
    }
    try {
      Files.walkFileTree(
          directory,
          EnumSet.of(FileVisitOption.FOLLOW_LINKS),
          Integer.MAX_VALUE,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
              if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
                throw refused(directory, dir, "cannot be read (permission denied)");
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
              if (attributes.isSymbolicLink()) {
                // Visited as a link only when following it failed.
                throw refused(directory, file, DANGLING);
              }
              if (!attributes.isRegularFile()) {
                throw refused(
                    directory,
                    file,
                    "is not a regular file (a FIFO, socket or device:"
                        + " reading it could block forever)");
              }
              if (!Files.isReadable(file)) {
                throw refused(directory, file, "cannot be read (permission denied)");
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException failure) {
              if (failure instanceof FileSystemLoopException) {
                throw refused(
                    directory,
                    file,
                    "is a symbolic link loop: it leads back to a directory that contains it");
              }
              if (failure instanceof AccessDeniedException) {
                throw refused(directory, file, "cannot be read (permission denied)");
              }
              throw refused(directory, file, "cannot be read (" + failure + ")");
            }
          });
    } catch (IOException e) {
      throw new SavedModelException(directory + " cannot be read (" + e + ")", e);
    }
  }

  /**
   * Checks that a graph with {@code variableCount} variables has the checkpoint index that holds
   * their values. A graph without variables needs none.
   *
   * @param directory the SavedModel directory
   * @param variableCount how many variables its graph declares
   * @throws SavedModelException if the index is missing
   */
  public static void checkVariables(Path directory, int variableCount) {
    Path index = directory.resolve(INDEX);
    if (variableCount > 0 && !Files.isRegularFile(index)) {
      throw new SavedModelException(
          directory
              + ": its graph has "
              + variableCount
              + " variables but "
              + INDEX
              + (Files.exists(index) ? " is not a file" : " is missing")
              + ", so their values cannot be restored");
    }
  }

  private static final String DANGLING =
      "is a symbolic link that leads nowhere (its target is missing or the links form a loop)";

  private static SavedModelException refused(Path directory, Path entry, String why) {
    return new SavedModelException(
        entry.equals(directory)
            ? directory + " " + why
            : directory + ": " + directory.relativize(entry) + " " + why);
  }
}
