" Perk loyalty programs: *.perk files get the `perk` filetype.
autocmd BufRead,BufNewFile *.perk setfiletype perk
